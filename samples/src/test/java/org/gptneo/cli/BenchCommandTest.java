package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static JsonNode json(Cli r) throws Exception {
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out().lines().toList()).hasSize(1);
        return JSON.readTree(r.out());
    }

    @Test
    void aModelFilePrintsOneObjectOfTimes() throws Exception {
        Path config = TinyModelFile.write(dir);
        JsonNode node = json(Cli.run("bench", "--config", config.toString(), "--batch", "2", "--seq", "8", "--runs", "1",
                "--new-tokens", "4"));
        assertThat(node.properties()).extracting(Map.Entry::getKey).containsExactly("backend", "parameters", "batch", "seq",
                "train_step_ms", "train_tokens_per_s", "forward_ms", "forward_tokens_per_s", "generate_prompt_tokens",
                "generate_new_tokens", "generate_ms", "generate_new_tokens_per_s");
        assertThat(node.get("batch").asInt()).isEqualTo(2);
        assertThat(node.get("generate_prompt_tokens").asInt()).isEqualTo(8);
        assertThat(node.get("generate_new_tokens").asInt()).isEqualTo(4);
        assertThat(node.get("forward_ms").asDouble()).isPositive();
    }

    @Test
    void aPresetBenches() throws Exception {
        JsonNode node = json(Cli.run("bench", "--preset", "125M", "--batch", "1", "--seq", "4", "--runs", "1", "--new-tokens", "1"));
        assertThat(node.get("parameters").asLong()).isEqualTo(125_198_592L);
    }

    @Test
    void outOfRangeOptionsAreOneLineUsageErrorsNamingTheFlagAndRange() {
        assertUsageError(new String[] {"--runs", "0"}, "--runs must be ≥ 1, got 0");
        assertUsageError(new String[] {"--new-tokens", "-1"}, "--new-tokens must be in [1, 2047] (below the model's context length 2048), got -1");
        assertUsageError(new String[] {"--new-tokens", "2048"}, "--new-tokens must be in [1, 2047] (below the model's context length 2048), got 2048");
        assertUsageError(new String[] {"--seq", "0"}, "--seq must be in [1, 2048] (the model's context length), got 0");
        assertUsageError(new String[] {"--seq", "100000"}, "--seq must be in [1, 2048] (the model's context length), got 100000");
        assertUsageError(new String[] {"--batch", "0"}, "--batch must be in [1, 16777215] for --seq 128, got 0");
        assertUsageError(new String[] {"--batch", "2000000000"}, "--batch must be in [1, 16777215] for --seq 128, got 2000000000");
    }

    private static void assertUsageError(String[] options, String message) {
        String[] args = new String[options.length + 3];
        args[0] = "bench";
        args[1] = "--preset";
        args[2] = "125M";
        System.arraycopy(options, 0, args, 3, options.length);
        Cli r = Cli.run(args);
        assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
        assertThat(r.errLines()).containsExactly("gptneo: " + message, "see gptneo bench --help");
        assertThat(r.out()).isEmpty();
    }
}
