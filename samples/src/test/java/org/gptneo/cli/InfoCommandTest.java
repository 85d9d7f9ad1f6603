package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.GptNeo;
import org.gptneo.model.GptNeoModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InfoCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void presetPrintsOneJsonObjectWithTheParameterCount() throws Exception {
        Cli r = Cli.run("info", "--preset", "125M");
        assertThat(r.exitCode()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.out().lines().toList()).hasSize(1);
        JsonNode json = JSON.readTree(r.out());
        assertThat(json.get("parameters").asLong()).isEqualTo(125_198_592L);
        assertThat(json.get("preset").asText()).isEqualTo("125M");
        assertThat(json.get("model_type").asText()).isEqualTo("gpt_neo");
        assertThat(json.get("hidden_size").asInt()).isEqualTo(768);
        assertThat(json.get("num_layers").asInt()).isEqualTo(12);
        assertThat(json.get("attention_types").toString()).isEqualTo("[[[\"global\",\"local\"],6]]");
    }

    @Test
    void largePresetsAllocateNothing() throws Exception {
        Cli r = Cli.run("info", "--preset", "175B");
        assertThat(r.exitCode()).isZero();
        assertThat(JSON.readTree(r.out()).get("parameters").asLong()).isGreaterThan(174_000_000_000L);
    }

    @Test
    void configFile() throws Exception {
        Path file = Files.writeString(dir.resolve("tiny.yaml"), """
                vocab-size: 300
                context-length: 32
                hidden-size: 24
                layers: 3
                heads: 3
                attention: [[[local], 3]]
                window-size: 8
                """);
        Cli r = Cli.run("info", "--config", file.toString());
        assertThat(r.exitCode()).isZero();
        JsonNode json = JSON.readTree(r.out());
        long expected = GptNeo.fromConfigFile(file).config().parameterCount();
        assertThat(json.get("parameters").asLong()).isEqualTo(expected)
                .isEqualTo((300L + 32) * 24 + 3 * (12L * 24 * 24 + 10 * 24) + 2 * 24);
        assertThat(json.has("preset")).isFalse();
        assertThat(json.get("vocab_size").asInt()).isEqualTo(300);
        assertThat(json.get("window_size").asInt()).isEqualTo(8);
        assertThat(json.get("attention_layers").toString()).isEqualTo("[\"local\",\"local\",\"local\"]");
    }

    @Test
    void modelFolderReadsConfigJson() throws Exception {
        Path folder = dir.resolve("model");
        try (GptNeoModel model = GptNeo.builder().vocabSize(40).contextLength(16).hiddenSize(8).layers(2).heads(2)
                .windowSize(4).build()) {
            HfCheckpoint.save(model, folder);
            Cli r = Cli.run("info", "--model", folder.toString());
            assertThat(r.exitCode()).isZero();
            JsonNode json = JSON.readTree(r.out());
            assertThat(json.get("parameters").asLong()).isEqualTo(model.parameterCount());
            assertThat(json.get("num_heads").asInt()).isEqualTo(2);
        }
    }

    @Test
    void missingInputsAreOneLineErrors() {
        Cli folder = Cli.run("info", "--model", dir.resolve("nope").toString());
        assertThat(folder.exitCode()).isEqualTo(1);
        assertThat(folder.errLines()).singleElement().asString().startsWith("gptneo: ").contains("nope", "no such model folder");
        assertThat(folder.out()).isEmpty();

        Cli empty = Cli.run("info", "--model", dir.toString());
        assertThat(empty.exitCode()).isEqualTo(1);
        assertThat(empty.errLines()).singleElement().asString().contains("no config.json");

        Cli file = Cli.run("info", "--config", dir.resolve("missing.yaml").toString());
        assertThat(file.exitCode()).isEqualTo(1);
        assertThat(file.errLines()).singleElement().asString().contains("missing.yaml", "no such model file");
    }

    @Test
    void invalidConfigIsAOneLineError() throws Exception {
        Path file = Files.writeString(dir.resolve("bad.yaml"), "hidden-size: 10\nheads: 3\n");
        Cli r = Cli.run("info", "--config", file.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.errLines()).singleElement().asString().startsWith("gptneo: bad.yaml: ").contains("divisible");
    }
}
