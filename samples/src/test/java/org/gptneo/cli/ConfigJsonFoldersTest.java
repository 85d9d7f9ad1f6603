package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.gptneo.cli.TokenizeCommandTest.assertOneLineError;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.gptneo.GptNeo;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.model.GptNeoModel;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Model folders whose config.json is odd (Hugging Face's bos/eos 50256 in a tiny model) or broken (no hidden_size). */
class ConfigJsonFoldersTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    Path folder;

    @BeforeEach
    void tinyFolder() {
        folder = dir.resolve("tiny");
        try (GptNeoModel model = GptNeo.fromConfigFile(TinyModelFile.write(dir)).build()) {
            HfCheckpoint.save(model, folder);
        }
    }

    private void editConfig(java.util.function.Consumer<ObjectNode> edit) throws Exception {
        Path file = folder.resolve("config.json");
        ObjectNode json = (ObjectNode) JSON.readTree(file.toFile());
        edit.accept(json);
        Files.writeString(file, json.toPrettyString());
    }

    @Test
    void bosAndEosOutsideTheVocabularyLoadAndGenerateToTheLimit() throws Exception {
        editConfig(json -> json.put("bos_token_id", 50256).put("eos_token_id", 50256));
        Cli info = Cli.run("info", "--model", folder.toString());
        assertThat(info.exitCode()).as(info.err()).isZero();
        assertThat(JSON.readTree(info.out()).get("eos_token_id").asInt()).isEqualTo(50256);

        Cli r = Cli.run("generate", "--model", folder.toString(), "--ids", "1,2,3;4", "--max-new-tokens", "7", "--json");
        assertThat(r.exitCode()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(2);
        for (String line : lines) {
            JsonNode node = JSON.readTree(line);
            assertThat(node.get("ids")).as("end-of-text is never met").hasSize(7)
                    .allSatisfy(id -> assertThat(id.asInt()).isBetween(0, TinyModelFile.VOCAB - 1));
        }
        Cli streamed = Cli.run("generate", "--model", folder.toString(), "--ids", "1,2,3", "--max-new-tokens", "7");
        assertThat(streamed.exitCode()).as(streamed.err()).isZero();
        assertThat(streamed.out()).isEqualTo(JSON.readTree(lines.getFirst()).get("text").asText());
    }

    @Test
    void aConfigJsonWithoutHiddenSizeIsReportedAsMissing() throws Exception {
        editConfig(json -> json.remove("hidden_size"));
        assertOneLineError(Cli.run("info", "--model", folder.toString()), "gptneo: config.json: missing key 'hidden_size'");
        assertOneLineError(Cli.run("generate", "--model", folder.toString(), "--ids", "1", "--max-new-tokens", "1"),
                "config.json: missing key 'hidden_size'");
        assertOneLineError(Cli.run("convert", folder.toString(), "--out", dir.resolve("out").toString()),
                "config.json: missing key 'hidden_size'");
    }

    @Test
    void aConfigJsonUsingTheHeadsAliasIsNamedByIt() throws Exception {
        editConfig(json -> {
            json.remove("num_heads");
            json.put("num_attention_heads", 3);
        });
        assertOneLineError(Cli.run("info", "--model", folder.toString()),
                "config.json: hidden_size (16) must be divisible by num_attention_heads (3)");
    }
}
