package org.gptneo.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.gptneo.backend.Backend;
import org.gptneo.backend.conformance.ReferenceBackend;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.HalfFloats;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sharded, converted and crash-safe saving. */
class HfCheckpointSaveTest {
    private final Backend backend = new ReferenceBackend();
    @TempDir
    Path dir;

    private GptNeoModel model(long seed) {
        return GptNeoBuilder.create().vocabSize(40).contextLength(10).hiddenSize(6).layers(2).heads(3)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(4).intermediateSize(10).seed(seed)
                .build(backend);
    }

    private static List<String> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static void assertSameWeights(GptNeoModel expected, GptNeoModel actual) {
        expected.parameters().forEach((name, p) -> assertThat(actual.parameters().get(name).value().toFloatArray())
                .as(name).containsExactly(p.value().toFloatArray()));
    }

    @Test
    void aSmallShardLimitWritesShardsAndAnIndexThatLoadBack() throws IOException {
        try (GptNeoModel model = model(1)) {
            List<Path> written = HfCheckpoint.save(model, dir, SaveOptions.defaults().withMaxShardBytes(1000));
            // 3728 bytes of F32: wte (960 B) alone, then wpe + layer 0, ...: 4 shards
            List<String> names = files(dir);
            assertThat(names).containsExactly("config.json", "model-00001-of-00004.safetensors",
                    "model-00002-of-00004.safetensors", "model-00003-of-00004.safetensors",
                    "model-00004-of-00004.safetensors", "model.safetensors.index.json");
            assertThat(names).allMatch(n -> !n.startsWith("."));
            assertThat(written.get(written.size() - 1).getFileName().toString()).isEqualTo("config.json");
            assertThat(written.get(written.size() - 2).getFileName().toString()).isEqualTo("model.safetensors.index.json");
            JsonNode index = HfConfig.JSON.readTree(dir.resolve("model.safetensors.index.json").toFile());
            assertThat(index.get("weight_map").size()).isEqualTo(model.parameters().size());
            assertThat(index.get("metadata").get("total_size").asLong()).isEqualTo(model.parameterCount() * 4);
            for (String n : names) {
                if (n.endsWith(".safetensors")) {
                    try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve(n))) {
                        long bytes = f.names().stream().mapToLong(t -> f.tensor(t).data().byteSize()).sum();
                        assertThat(bytes <= 1000 || f.names().size() == 1).as(n).isTrue();
                        assertThat(f.metadata()).containsEntry("format", "pt");
                    }
                }
            }
            try (GptNeoModel loaded = HfCheckpoint.load(dir, backend, LoadOptions.defaults())) {
                assertSameWeights(model, loaded);
            }
        }
    }

    @Test
    void halfPrecisionSavesRoundToNearestEvenAndSayTheirDtype() throws IOException {
        try (GptNeoModel model = model(2)) {
            for (DType dtype : new DType[] {DType.BF16, DType.F16}) {
                Path out = dir.resolve(dtype.name());
                HfCheckpoint.save(model, out, SaveOptions.defaults().withDtype(dtype).withMaxShardBytes(2000));
                assertThat(HfConfig.JSON.readTree(out.resolve("config.json").toFile()).get("torch_dtype").asText())
                        .isEqualTo(dtype == DType.BF16 ? "bfloat16" : "float16");
                try (GptNeoModel loaded = HfCheckpoint.load(out, backend, LoadOptions.defaults())) {
                    model.parameters().forEach((name, p) -> {
                        Tensor a = p.value(), b = loaded.parameters().get(name).value();
                        for (long i = 0; i < a.size(); i++) {
                            float x = a.getFloat(i);
                            float rounded = dtype == DType.BF16 ? HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(x))
                                    : HalfFloats.f16ToFloat(HalfFloats.floatToF16(x));
                            assertThat(b.getFloat(i)).as(name).isEqualTo(rounded);
                        }
                    });
                }
            }
        }
    }

    @Test
    void successiveSavesLeaveOnlyTheNewestFiles() throws IOException {
        try (GptNeoModel a = model(3); GptNeoModel b = model(4); GptNeoModel c = model(5); GptNeoModel d = model(6)) {
            Files.writeString(dir.resolve("tokenizer.json"), "{}");          // not ours: never touched
            HfCheckpoint.save(a, dir, SaveOptions.defaults().withMaxShardBytes(1500));
            List<String> first = files(dir);
            // the same shard names again (the collision case)
            HfCheckpoint.save(b, dir, SaveOptions.defaults().withMaxShardBytes(1500));
            assertThat(files(dir)).isEqualTo(first);
            try (GptNeoModel loaded = HfCheckpoint.load(dir, backend)) {
                assertSameWeights(b, loaded);
            }
            HfCheckpoint.save(c, dir);                                        // single file replaces shards
            assertThat(files(dir)).containsExactly("config.json", "model.safetensors", "tokenizer.json");
            try (GptNeoModel loaded = HfCheckpoint.load(dir, backend)) {
                assertSameWeights(c, loaded);
            }
            HfCheckpoint.save(d, dir, SaveOptions.defaults().withMaxShardBytes(2000));   // shards replace a single file
            assertThat(files(dir)).contains("model.safetensors.index.json", "tokenizer.json").doesNotContain("model.safetensors");
            assertThat(files(dir).stream().filter(n -> n.startsWith("model-"))).allMatch(n -> n.endsWith("-of-00002.safetensors"));
            try (GptNeoModel loaded = HfCheckpoint.load(dir, backend)) {
                assertSameWeights(d, loaded);
            }
        }
    }

    /** A model whose last parameters' memory was freed: saving it throws part-way through. */
    private GptNeoModel brokenModel(Arena freed) {
        try (GptNeoModel source = model(7)) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Arena kept = Arena.ofShared();
            source.parameters().forEach((name, p) -> tensors.put(name,
                    p.value().to(name.startsWith("transformer.ln_f") ? freed : kept, DType.F32)));
            return GptNeoModel.fromTensors(source.config(), backend, tensors, kept::close);
        }
    }

    @Test
    void aSaveThatFailsMidwayLeavesTheOlderCheckpointLoadable() throws IOException {
        try (GptNeoModel old = model(8)) {
            for (long limit : new long[] {Long.MAX_VALUE, 1500}) {
                Path out = dir.resolve("limit" + limit);
                HfCheckpoint.save(old, out, SaveOptions.defaults().withMaxShardBytes(limit));
                List<String> before = files(out);
                Arena freed = Arena.ofShared();
                try (GptNeoModel broken = brokenModel(freed)) {
                    freed.close();
                    for (long newLimit : new long[] {Long.MAX_VALUE, 1500, 3000}) {
                        assertThatThrownBy(() -> HfCheckpoint.save(broken, out, SaveOptions.defaults().withMaxShardBytes(newLimit)))
                                .isInstanceOf(CheckpointException.class)
                                .hasMessageContaining("cannot write");
                        assertThat(files(out)).as("no temporary or partial file stays").isEqualTo(before);
                        try (GptNeoModel loaded = HfCheckpoint.load(out, backend)) {
                            assertSameWeights(old, loaded);
                        }
                    }
                }
            }
        }
    }

    @Test
    void theSaveIsReadableByOurPythonReferenceFormat() throws IOException {
        // a stable copy under target/ for tools/reference/check_java_checkpoint.py (see tools/reference/README.md)
        Path out = Path.of("target", "java-saved");
        try (GptNeoModel model = HfCheckpoint.load(CheckpointFixtures.folder("st_f32"), backend)) {
            HfCheckpoint.save(model, out.resolve("f32"));
            HfCheckpoint.save(model, out.resolve("bf16-sharded"), SaveOptions.defaults().withDtype(DType.BF16).withMaxShardBytes(1200));
            try (GptNeoModel again = HfCheckpoint.load(out.resolve("f32"), backend, LoadOptions.defaults());
                 Arena arena = Arena.ofConfined()) {
                assertThat(CheckpointFixtures.relativeError(CheckpointFixtures.logits(again, arena), "F32")).isLessThan(1e-4);
            }
            try (GptNeoModel again = HfCheckpoint.load(out.resolve("bf16-sharded"), backend, LoadOptions.defaults());
                 Arena arena = Arena.ofConfined()) {
                assertThat(CheckpointFixtures.relativeError(CheckpointFixtures.logits(again, arena), "BF16")).isLessThan(1e-4);
            }
        }
    }
}
