package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.withinPercentage;
import static org.gptneo.cli.TokenizeCommandTest.assertOneLineError;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.gptneo.io.SafeTensorsFile;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code gptneo perplexity}, checked against the losses {@code gptneo logits} reports for the same windows. */
class PerplexityCommandTest {
    @TempDir
    static Path dir;
    static Path modelFile, data;
    static int[] tokens;                 // the file's tokens as train and perplexity read it: the text, then end-of-text

    @BeforeAll
    static void files() throws Exception {
        modelFile = TrainFixtures.modelFile(dir);
        data = TrainFixtures.text(dir.resolve("data.txt"), 3, 4);
        Gpt2Tokenizer tokenizer = Gpt2Tokenizer.builtIn();
        int[] text = tokenizer.encode(Files.readString(data));
        tokens = Arrays.copyOf(text, text.length + 1);
        tokens[text.length] = tokenizer.eosTokenId();
        assertThat(tokens.length).as("the test needs more than two windows of 16").isBetween(33, 64);
    }

    /** The mean next-token loss of {@code ids} as one row, from the logits command. */
    private static double loss(int[] ids) {
        Path out = dir.resolve("logits-" + ids[0] + "-" + ids.length + ".safetensors");
        Cli r = Cli.run("logits", "--config", modelFile.toString(), "--ids",
                Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(",")), "--out", out.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        try (SafeTensorsFile f = SafeTensorsFile.open(out)) {
            return f.tensor("loss").getFloat(0);
        }
    }

    @Test
    void nonOverlappingWindowsAverageTheirLosses() {
        JsonNode row = TrainFixtures.perplexity("--config", modelFile.toString(), "--data", data.toString(), "--seq-len", "16",
                "--stride", "16");
        double nll = 0;
        long counted = 0;
        int windows = 0;
        for (int begin = 0; begin < tokens.length; begin += 16) {
            int[] window = Arrays.copyOfRange(tokens, begin, Math.min(begin + 16, tokens.length));
            if (window.length >= 2) {
                nll += loss(window) * (window.length - 1);
                counted += window.length - 1;
            }
            windows++;
        }
        assertThat(row.get("windows").asInt()).isEqualTo(windows);
        assertThat(row.get("tokens").asLong()).isEqualTo(counted);
        assertThat(row.get("mean_nll").asDouble()).isCloseTo(nll / counted, withinPercentage(1e-3));
        assertThat(row.get("perplexity").asDouble()).isCloseTo(Math.exp(nll / counted), withinPercentage(1e-3));
    }

    @Test
    void theDefaultWindowIsTheContext() {
        JsonNode row = TrainFixtures.perplexity("--config", modelFile.toString(), "--data", data.toString(), "--stride", "32");
        assertThat(row.get("seq_len").asInt()).isEqualTo(32);
        assertThat(row.get("windows").asInt()).isEqualTo(2);
        int rest = tokens.length - 32;
        assertThat(row.get("tokens").asLong()).isEqualTo(31 + rest - 1);
        double nll = loss(Arrays.copyOf(tokens, 32)) * 31 + loss(Arrays.copyOfRange(tokens, 32, tokens.length)) * (rest - 1);
        assertThat(row.get("mean_nll").asDouble()).isCloseTo(nll / (31 + rest - 1), withinPercentage(1e-3));
    }

    @Test
    void theDefaultStrideIsHalfTheWindow() {
        JsonNode row = TrainFixtures.perplexity("--config", modelFile.toString(), "--data", data.toString(), "--seq-len", "16");
        assertThat(row.get("stride").asInt()).isEqualTo(8);
        assertThat(TrainCommandTest.fieldNames(row)).containsExactly("perplexity", "mean_nll", "tokens", "windows", "seq_len", "stride", "dtype");
        assertThat(row.get("dtype").asText()).isEqualTo("f32");
    }

    @Test
    void q8WeightsScoreWithinAPercentOfF32() throws Exception {
        Path config = Files.writeString(dir.resolve("q8-able.yaml"), """
                vocab-size: 50257
                context-length: 32
                hidden-size: 64
                layers: 2
                heads: 2
                attention: [[[global, local], 1]]
                window-size: 4
                initializer-range: 0.1
                seed: 5
                """);
        Path folder = dir.resolve("q8-able");
        Cli init = Cli.run("init", "--config", config.toString(), "--out", folder.toString());
        assertThat(init.exitCode()).as(init.err()).isZero();
        JsonNode f32 = TrainFixtures.perplexity("--model", folder.toString(), "--data", data.toString(), "--seq-len", "16");
        JsonNode q8 = TrainFixtures.perplexity("--model", folder.toString(), "--data", data.toString(), "--seq-len", "16", "--dtype", "q8");
        assertThat(q8.get("dtype").asText()).isEqualTo("q8");
        assertThat(q8.get("tokens").asLong()).isEqualTo(f32.get("tokens").asLong());
        assertThat(q8.get("perplexity").asDouble()).isNotEqualTo(f32.get("perplexity").asDouble())
                .isCloseTo(f32.get("perplexity").asDouble(), withinPercentage(1));
    }

    @Test
    void q8NeedsAModelFolder() {
        assertOneLineError(Cli.run("perplexity", "--config", modelFile.toString(), "--data", data.toString(), "--dtype", "q8"),
                "random weights (--preset, --config) are F32: --dtype needs --model");
    }

    @Test
    void aWindowLongerThanTheContextIsOneLine() {
        assertOneLineError(Cli.run("perplexity", "--config", modelFile.toString(), "--data", data.toString(), "--seq-len", "64"),
                "--seq-len 64 exceeds the model's context length 32");
    }

    @Test
    void aStrideLongerThanTheWindowIsOneLine() {
        assertOneLineError(Cli.run("perplexity", "--config", modelFile.toString(), "--data", data.toString(), "--seq-len", "16",
                "--stride", "20"), "--stride 20 exceeds the window of 16 tokens");
    }

    @Test
    void aMissingDataFileIsOneLine() {
        Path missing = dir.resolve("missing.txt");
        assertOneLineError(Cli.run("perplexity", "--config", modelFile.toString(), "--data", missing.toString()),
                missing + ": no such file or folder");
    }
}
