package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code gptneo bench prefill|decode|train|gemm}: one JSON line per measurement with the contract's keys. */
class BenchMeasurementsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static List<JsonNode> lines(Cli r) throws Exception {
        assertThat(r.exitCode()).as(r.err()).isZero();
        List<JsonNode> lines = new ArrayList<>();
        for (String line : r.out().lines().toList()) lines.add(JSON.readTree(line));
        return lines;
    }

    private static List<String> keys(JsonNode node) {
        return node.properties().stream().map(Map.Entry::getKey).toList();
    }

    @Test
    void prefillTimesAllLogitsAndTheLastRow() throws Exception {
        List<JsonNode> lines = lines(Cli.run("bench", "prefill", "--config", TinyModelFile.write(dir).toString(),
                "--tokens", "9", "--batch-size", "2", "--runs", "1", "--threads", "1"));
        assertThat(lines).extracting(n -> n.get("logits").asText()).containsExactly("all", "last");
        for (JsonNode n : lines) {
            assertThat(keys(n)).containsExactly("what", "threads", "backend", "logits", "batch", "tokens", "dtype", "ms", "tokens_per_s",
                    "heap_bytes_per_token");
            assertThat(n.get("what").asText()).isEqualTo("prefill");
            assertThat(n.get("threads").asInt()).isEqualTo(1);
            assertThat(n.get("tokens").asInt()).isEqualTo(9);
            assertThat(n.get("tokens_per_s").asDouble()).isPositive();
            assertThat(n.get("heap_bytes_per_token").asLong()).isNotNegative();
        }
    }

    @Test
    void decodeReportsTheBandwidthFractionOfItsReads() throws Exception {
        List<JsonNode> lines = lines(Cli.run("bench", "decode", "--config", TinyModelFile.write(dir).toString(),
                "--prompt", "5", "--new", "7", "--batch-size", "3", "--runs", "1"));
        assertThat(lines).hasSize(1);
        JsonNode n = lines.get(0);
        assertThat(keys(n)).containsExactly("what", "threads", "backend", "batch", "prompt", "new", "dtype", "prefill_ms", "ms_per_token",
                "tokens_per_s", "bytes_per_token", "bandwidth_gb_s", "bandwidth_fraction", "heap_bytes_per_token");
        assertThat(n.get("batch").asInt()).isEqualTo(3);
        // the tiny model: 300·16 (wte) + 2 layers' weights, F32; its KV cache adds a few kB per step
        assertThat(n.get("bytes_per_token").asLong()).isGreaterThan(4L * 300 * 16 / 3);
        assertThat(n.get("bandwidth_gb_s").asDouble()).isPositive();
        assertThat(n.get("bandwidth_fraction").asDouble()).isPositive();
        assertThat(n.get("heap_bytes_per_token").asLong()).isNotNegative();
    }

    @Test
    void trainTimesAStepWithAdamW() throws Exception {
        JsonNode n = lines(Cli.run("bench", "train", "--config", TinyModelFile.write(dir).toString(),
                "--batch-size", "2", "--seq-len", "8", "--runs", "1")).get(0);
        assertThat(keys(n)).containsExactly("what", "threads", "backend", "batch", "seq_len", "ms", "tokens_per_s", "heap_bytes_per_token");
        assertThat(n.get("seq_len").asInt()).isEqualTo(8);
        assertThat(n.get("ms").asDouble()).isPositive();
    }

    @Test
    void gemmStartsWithTheMachinesLimits() throws Exception {
        List<JsonNode> lines = lines(Cli.run("bench", "gemm", "--runs", "1"));
        assertThat(keys(lines.get(0))).containsExactly("what", "threads", "fma_peak_gflops", "read_bandwidth_gb_s");
        assertThat(lines.get(0).get("fma_peak_gflops").asDouble()).isPositive();
        assertThat(lines).hasSize(1 + BenchGemmCommand.shapes().size());
        for (JsonNode n : lines.subList(1, lines.size())) {
            assertThat(keys(n)).containsExactly("what", "threads", "backend", "m", "n", "k", "transpose_a", "transpose_b", "ms", "gflops",
                    "peak_fraction");
            assertThat(n.get("gflops").asDouble()).isPositive();
        }
    }

    @Test
    void curveMeasuresEveryLengthForEachLayoutAndDrawsThem() throws Exception {
        Path plots = dir.resolve("plots");
        List<JsonNode> lines = lines(Cli.run("bench", "curve", "--config", TinyModelFile.write(dir).toString(),
                "--tokens", "4,16", "--runs", "1", "--plot", plots.toString()));
        assertThat(lines).filteredOn(n -> n.get("what").asText().equals("curve_prefill"))
                .extracting(n -> n.get("layout").asText() + "@" + n.get("tokens").asInt())
                .containsExactly("model@4", "model@16", "global@4", "global@16", "local@4", "local@16", "linear@4", "linear@16");
        assertThat(lines).filteredOn(n -> n.get("what").asText().equals("curve_decode"))
                .extracting(n -> n.get("cache").asInt()).containsExactly(4, 16);
        // activations grow with T
        assertThat(lines.get(1).get("peak_activation_mib").asDouble()).isGreaterThan(lines.get(0).get("peak_activation_mib").asDouble());
        assertThat(plots.resolve("prefill-cost.png")).isNotEmptyFile();
        assertThat(plots.resolve("decode-cost.png")).isNotEmptyFile();
    }

    @Test
    void badOptionsAreOneLineUsageErrors() {
        String config = TinyModelFile.write(dir).toString();
        assertUsageError(List.of("bench", "prefill", "--config", config, "--tokens", "33"),
                "--tokens must be in [1, 32] (the model's context length), got 33", "prefill");
        assertUsageError(List.of("bench", "decode", "--config", config, "--prompt", "30", "--new", "3"),
                "--new must be in [1, 2] (prompt + new ≤ the context length 32), got 3", "decode");
        assertUsageError(List.of("bench", "decode", "--config", config, "--dtype", "int4"),
                "--dtype must be f32, bf16 or q8, got 'int4'", "decode");
        assertUsageError(List.of("bench", "train", "--config", config, "--threads", "0"), "--threads must be ≥ 1, got 0", "train");
        assertUsageError(List.of("bench", "gemm", "--runs", "0"), "--runs must be ≥ 1, got 0", "gemm");
        assertUsageError(List.of("bench"), "bench needs a measurement (prefill, decode, train or gemm) or a model for the summary:"
                + " one of --model, --preset, --config", null);
    }

    private static void assertUsageError(List<String> args, String message, String subcommand) {
        Cli r = Cli.run(args.toArray(String[]::new));
        assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
        assertThat(r.errLines()).containsExactly("gptneo: " + message,
                "see gptneo bench" + (subcommand == null ? "" : " " + subcommand) + " --help");
        assertThat(r.out()).isEmpty();
    }
}
