package org.gptneo.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.gptneo.backend.Backend;
import org.gptneo.backend.conformance.ReferenceBackend;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** .bin folders and files → the Hugging Face safetensors layout. */
class ConverterTest {
    private final Backend backend = new ReferenceBackend();
    @TempDir
    Path dir;

    private static java.util.List<String> files(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private void matchesReference(Path folder, String key) {
        try (GptNeoModel m = HfCheckpoint.load(folder, backend, LoadOptions.defaults()); Arena arena = Arena.ofConfined()) {
            assertThat(CheckpointFixtures.relativeError(CheckpointFixtures.logits(m, arena), key)).isLessThan(1e-4);
        }
    }

    @Test
    void aBinFolderBecomesSafetensors() throws IOException {
        Path out = dir.resolve("out");
        Converter.Result r = Converter.convert(CheckpointFixtures.folder("bin_f32"), out, SaveOptions.defaults());
        assertThat(r.weights()).isTrue();
        assertThat(files(out)).containsExactly("config.json", "model.safetensors");
        try (SafeTensorsFile f = SafeTensorsFile.open(out.resolve("model.safetensors"))) {
            assertThat(f.names()).hasSize(30).doesNotContain("lm_head.weight").allMatch(n -> n.startsWith("transformer."));
            assertThat(f.names()).noneMatch(n -> n.endsWith("attn.attention.bias") || n.endsWith("masked_bias"));
        }
        var json = HfConfig.JSON.readTree(out.resolve("config.json").toFile());
        assertThat(json.get("summary_type").asText()).as("extra keys of the source survive").isEqualTo("cls_index");
        assertThat(json.get("torch_dtype").asText()).isEqualTo("float32");
        matchesReference(out, "F32");
    }

    @Test
    void aShardedBinFolderBecomesShardedBf16() throws IOException {
        Path out = dir.resolve("out");
        Converter.convert(CheckpointFixtures.folder("bin_f16_sharded"), out,
                SaveOptions.defaults().withDtype(DType.BF16).withMaxShardBytes(1024));
        // 1960 parameters × 2 bytes in ≤ 1 KB shards
        assertThat(files(out)).contains("config.json", "model.safetensors.index.json", "model-00001-of-00005.safetensors");
        try (GptNeoModel m = HfCheckpoint.load(out, backend, LoadOptions.defaults().withDtype(DType.BF16))) {
            assertThat(m.parameters().get("transformer.wte.weight").value().dtype()).isEqualTo(DType.BF16);
            assertThat(m.parameters().get("transformer.wte.weight").value().data().isReadOnly()).isTrue();
        }
    }

    @Test
    void aSingleBinFileWithItsConfig() throws IOException {
        Path src = dir.resolve("src");
        Files.createDirectories(src);
        Files.copy(CheckpointFixtures.folder("bin_f32").resolve("pytorch_model.bin"), src.resolve("weights.bin"));
        Path config = CheckpointFixtures.folder("bin_f32").resolve("config.json");
        Path out = dir.resolve("out");
        Converter.convert(src.resolve("weights.bin"), config, out, SaveOptions.defaults());
        matchesReference(out, "F32");
        assertThatThrownBy(() -> Converter.convert(src.resolve("weights.bin"), dir.resolve("out2"), SaveOptions.defaults()))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("no such config.json");
        // in place: the .bin stays, safetensors appear next to it
        Path inPlace = CheckpointFixtures.copyFolder("bin_f32", dir.resolve("inplace"));
        Converter.convert(inPlace, inPlace, SaveOptions.defaults());
        assertThat(files(inPlace)).containsExactly("config.json", "model.safetensors", "pytorch_model.bin");
        matchesReference(inPlace, "F32");
    }

    @Test
    void aHostileBinIsRefusedAndNothingIsWritten() throws IOException {
        Path src = CheckpointFixtures.copyFolder("bin_f32", dir.resolve("src"));
        Files.copy(CheckpointFixtures.hostile("os_system.bin"), src.resolve("pytorch_model.bin"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Path out = dir.resolve("out");
        assertThatThrownBy(() -> Converter.convert(src, out, SaveOptions.defaults()))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("global 'os.system' is not allowed");
        assertThat(Files.exists(out)).isFalse();
    }
}
