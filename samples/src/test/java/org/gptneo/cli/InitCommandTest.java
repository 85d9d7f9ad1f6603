package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.gptneo.cli.TokenizeCommandTest.assertOneLineError;

import java.nio.file.Files;
import java.nio.file.Path;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InitCommandTest {
    @TempDir
    Path dir;

    @Test
    void writesAFolderThatLoadsWithTokenizerFilesAndPrintsEachFile() {
        Path config = TinyModelFile.write(dir);
        Path out = dir.resolve("model");
        Cli r = Cli.run("init", "--config", config.toString(), "--out", out.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.out().lines().toList()).containsExactly(out.resolve("model.safetensors").toString(),
                out.resolve("config.json").toString(), out.resolve("vocab.json").toString(), out.resolve("merges.txt").toString());

        try (GptNeoModel model = HfCheckpoint.load(out, new CpuBackend())) {
            assertThat(model.config().vocabSize()).isEqualTo(TinyModelFile.VOCAB);
            assertThat(model.config().hiddenSize()).isEqualTo(16);
        }
        Gpt2Tokenizer tokenizer = Gpt2Tokenizer.fromFolder(out);
        assertThat(tokenizer.toString()).contains("vocab.json");
        assertThat(tokenizer.encode("Hello world<|endoftext|>")).containsExactly(15496, 995, 50256);
    }

    @Test
    void generateFromTheFolderEqualsGenerateFromTheModelFile() {
        Path config = TinyModelFile.write(dir);
        Path out = dir.resolve("model");
        assertThat(Cli.run("init", "--config", config.toString(), "--out", out.toString()).exitCode()).isZero();
        String[] rest = {"--ids", "5,6,7;8", "--max-new-tokens", "8", "--json"};
        Cli fromFolder = Cli.run(concat(new String[] {"generate", "--model", out.toString()}, rest));
        Cli fromFile = Cli.run(concat(new String[] {"generate", "--config", config.toString()}, rest));
        assertThat(fromFolder.exitCode()).as(fromFolder.err()).isZero();
        assertThat(fromFolder.out().lines().toList()).hasSize(2);
        assertThat(fromFolder.out()).isEqualTo(fromFile.out());
    }

    @Test
    void theSeedChoosesTheWeightsAndTheDtypeIsStored() throws Exception {
        Path config = TinyModelFile.write(dir);
        Path a = dir.resolve("a"), b = dir.resolve("b"), c = dir.resolve("c");
        assertThat(Cli.run("init", "--config", config.toString(), "--out", a.toString(), "--seed", "1").exitCode()).isZero();
        assertThat(Cli.run("init", "--config", config.toString(), "--out", b.toString(), "--seed", "2").exitCode()).isZero();
        assertThat(Cli.run("init", "--config", config.toString(), "--out", c.toString(), "--seed", "1", "--dtype", "bf16")
                .exitCode()).isZero();
        assertThat(Files.readAllBytes(a.resolve("model.safetensors"))).isNotEqualTo(Files.readAllBytes(b.resolve("model.safetensors")));
        assertThat(Files.readString(c.resolve("config.json"))).contains("\"torch_dtype\" : \"bfloat16\"");
        assertThat(Files.size(c.resolve("model.safetensors"))).isLessThan(Files.size(a.resolve("model.safetensors")));
    }

    @Test
    void aFolderHoldingAModelIsRefused() throws Exception {
        Path config = TinyModelFile.write(dir);
        Path out = dir.resolve("model");
        assertThat(Cli.run("init", "--config", config.toString(), "--out", out.toString()).exitCode()).isZero();
        byte[] before = Files.readAllBytes(out.resolve("model.safetensors"));
        assertOneLineError(Cli.run("init", "--config", config.toString(), "--out", out.toString(), "--seed", "9"),
                out + ": already holds a model (config.json); choose another --out");
        assertThat(Files.readAllBytes(out.resolve("model.safetensors"))).isEqualTo(before);
    }

    @Test
    void usageErrors() {
        assertThat(Cli.run("init", "--preset", "125M").exitCode()).isEqualTo(2);
        assertThat(Cli.run("init", "--out", dir.toString()).exitCode()).isEqualTo(2);
        assertThat(Cli.run("init", "--model", dir.toString(), "--out", dir.toString()).exitCode()).isEqualTo(2);
        assertThat(Cli.run("init", "--preset", "125M", "--out", dir.toString(), "--dtype", "f8").exitCode()).isEqualTo(2);
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
