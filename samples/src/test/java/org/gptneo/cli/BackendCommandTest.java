package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.gptneo.cuda.ffi.CudaProbe;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --backend} on every command, and {@code gptneo info --backend}. */
class BackendCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @AfterEach
    void forgetTheChoice() {
        System.clearProperty("gptneo.backend"); // --backend sets it for the (CLI) process
    }

    @Test
    void infoBackendReportsEveryBackendAndWhatAutoTakes() throws Exception {
        Cli r = Cli.run("info", "--backend");

        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode json = JSON.readTree(r.out());
        assertThat(json.get("selected").asText()).isIn("cpu", "cuda");
        assertThat(json.get("backends").findValuesAsText("name")).contains("cpu", "cuda");
        JsonNode cuda = json.get("backends").get(0);
        assertThat(cuda.get("name").asText()).isEqualTo("cuda");
        assertThat(cuda.get("details").get("libraries").has("libcudart.so.13")).isTrue();
        if (!cuda.get("available").asBoolean()) {
            assertThat(cuda.get("reason").asText()).isNotBlank();
            assertThat(json.get("selected").asText()).isEqualTo("cpu");
        }
    }

    @Test
    void anExplicitCpuBackendRuns() {
        Cli r = Cli.run("generate", "--backend", "cpu", "--config", TinyModelFile.write(dir).toString(), "--ids", "1,2",
                "--max-new-tokens", "2", "--json");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("\"ids\"");
    }

    @Test
    void cudaWithoutAGpuIsAOneLineErrorWithTheReason() {
        assumeFalse(CudaProbe.probe().usable(), "this machine has a usable GPU");
        Cli r = Cli.run("generate", "--backend", "cuda", "--config", TinyModelFile.write(dir).toString(), "--ids", "1,2",
                "--max-new-tokens", "2");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err().lines().toList()).hasSize(1);
        assertThat(r.err()).startsWith("gptneo: backend 'cuda' is not available: ");
    }

    @Test
    void anUnknownBackendIsAUsageError() {
        Cli r = Cli.run("info", "--backend", "tpu", "--preset", "125M");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).startsWith("gptneo: --backend takes auto, cpu, cuda, got 'tpu'");
    }

    @Test
    void infoTakesAModelOrTheBareFlag() {
        assertThat(Cli.run("info").err()).contains("Missing model");
        assertThat(Cli.run("info", "--backend", "--preset", "125M").exitCode()).isEqualTo(2);
    }
}
