package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.gptneo.cli.TokenizeCommandTest.assertOneLineError;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.gptneo.GptNeo;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.io.HfConfig;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConvertCommandTest {
    @TempDir
    Path dir;

    @Test
    void aMeshTfConfigBecomesConfigJsonOnly() throws Exception {
        Path mesh = Files.writeString(dir.resolve("tiny.json"), """
                {"n_embd": 8, "n_layer": 2, "n_head": 2, "n_ctx": 8, "n_vocab": 23, "eos_id": 22,
                 "attention_types": [[["global", "local"], 1]], "local_attention_radius": 3,
                 "activation_function": "gelu", "lr": 0.00016, "mesh_shape": "x:4,y:2"}
                """);
        Path out = dir.resolve("out");
        Cli r = Cli.run("convert", mesh.toString(), "--out", out.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out().lines().toList()).containsExactly(out.resolve("config.json").toString());
        try (var files = Files.list(out)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly("config.json");
        }
        GptNeoConfig config = HfConfig.read(out.resolve("config.json"));
        assertThat(config.hiddenSize()).isEqualTo(8);
        assertThat(config.vocabSize()).isEqualTo(23);
        assertThat(config.windowSize()).isEqualTo(3);
        assertThat(config.eosTokenId()).isEqualTo(22);
    }

    @Test
    void aSafetensorsFolderIsReshardedWithTheSameWeights() {
        Path source = dir.resolve("source");
        try (GptNeoModel model = GptNeo.builder().vocabSize(300).contextLength(16).hiddenSize(16).layers(2).heads(2)
                .windowSize(4).seed(9).build()) {
            HfCheckpoint.save(model, source);
        }
        Path out = dir.resolve("sharded");
        Cli r = Cli.run("convert", source.toString(), "--out", out.toString(), "--max-shard-size", "10KB");
        assertThat(r.exitCode()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSizeGreaterThan(3)   // the 19,200-byte embedding alone exceeds a shard
                .contains(out.resolve("model.safetensors.index.json").toString())
                .last().isEqualTo(out.resolve("config.json").toString());
        assertThat(lines).allSatisfy(line -> assertThat(Path.of(line)).isRegularFile());
        assertThat(out.resolve("model.safetensors.index.json")).isRegularFile();
        assertThat(out.resolve("model.safetensors")).doesNotExist();

        try (GptNeoModel a = HfCheckpoint.load(source, new CpuBackend());
             GptNeoModel b = HfCheckpoint.load(out, new CpuBackend())) {
            assertThat(b.config()).isEqualTo(a.config());
            a.parameters().forEach((name, p) -> assertThat(b.parameters().get(name).value().toFloatArray()).as(name)
                    .containsExactly(p.value().toFloatArray()));
        }
    }

    @Test
    void bf16ConversionRecordsTheDtype() throws Exception {
        Path source = dir.resolve("source");
        try (GptNeoModel model = GptNeo.builder().vocabSize(50).contextLength(8).hiddenSize(8).layers(2).heads(2).windowSize(4).build()) {
            HfCheckpoint.save(model, source);
        }
        Path out = dir.resolve("bf16");
        Cli r = Cli.run("convert", source.toString(), "--out", out.toString(), "--dtype", "bf16");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out().lines().toList()).containsExactly(out.resolve("model.safetensors").toString(),
                out.resolve("config.json").toString());
        assertThat(Files.readString(out.resolve("config.json"))).contains("\"torch_dtype\" : \"bfloat16\"");
    }

    @Test
    void sizesTakeDecimalAndBinaryUnits() {
        assertThat(ConvertCommand.size("500MB")).isEqualTo(500_000_000L);
        assertThat(ConvertCommand.size("5GB")).isEqualTo(5_000_000_000L);
        assertThat(ConvertCommand.size("2GiB")).isEqualTo(2L << 30);
        assertThat(ConvertCommand.size("1.5 kb")).isEqualTo(1500);
        assertThat(ConvertCommand.size("123")).isEqualTo(123);
        assertThat(ConvertCommand.size("64KiB")).isEqualTo(65536);
        assertThatThrownBy(() -> ConvertCommand.size("5XB")).hasMessageContaining("'5XB' is not a size");
        assertThatThrownBy(() -> ConvertCommand.size("0")).hasMessageContaining("less than 1 byte");
        assertThatThrownBy(() -> ConvertCommand.size("-5MB")).hasMessageContaining("not a size");
    }

    @Test
    void badOptionsAreUsageErrorsAndBadSourcesOneLineErrors() {
        Path out = dir.resolve("out");
        assertThat(Cli.run("convert", dir.toString(), "--out", out.toString(), "--max-shard-size", "lots").exitCode()).isEqualTo(2);
        assertThat(Cli.run("convert", dir.toString(), "--out", out.toString(), "--dtype", "f8").exitCode()).isEqualTo(2);
        assertThat(Cli.run("convert", dir.toString()).exitCode()).isEqualTo(2);
        assertOneLineError(Cli.run("convert", dir.resolve("missing.bin").toString(), "--out", out.toString()),
                "missing.bin: no such file or folder");
        assertOneLineError(Cli.run("convert", dir.toString(), "--out", out.toString()), "config.json");
    }
}
