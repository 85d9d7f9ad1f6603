package org.gptneo.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.gptneo.GptNeo;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link ConfigFile}: a config.json and a model file are told apart by their keys, and errors use those keys. */
class ConfigFileTest {
    @TempDir
    Path dir;

    private final GptNeoConfig config = GptNeoBuilder.create().vocabSize(300).contextLength(64).hiddenSize(32)
            .layers(4).heads(4).attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(8).config();

    @Test
    void bothFormatsAreDetectedAndReadToTheSameConfig() {
        Path hf = HfCheckpoint.writeConfig(config, dir.resolve("hf"));
        Path yaml = dir.resolve("model.yaml");
        Path json = dir.resolve("model.json");
        ModelConfigFile.write(config, yaml);
        ModelConfigFile.write(config, json);

        assertThat(ConfigFile.format(hf)).isEqualTo(ConfigFile.Format.HF_CONFIG);
        assertThat(ConfigFile.format(yaml)).isEqualTo(ConfigFile.Format.MODEL_FILE);
        assertThat(ConfigFile.format(json)).isEqualTo(ConfigFile.Format.MODEL_FILE);
        for (Path file : new Path[] {hf, yaml, json}) {
            assertThat(ConfigFile.read(file)).as(file.toString()).isEqualTo(config);
            assertThat(GptNeo.fromConfigFile(file).config()).as(file.toString()).isEqualTo(config);
        }
    }

    @Test
    void aMeshTfConfigIsDetected() throws IOException {
        Path mesh = Files.writeString(dir.resolve("mesh.json"), """
                {"n_embd": 8, "n_layer": 2, "n_head": 2, "n_ctx": 8, "n_vocab": 23,
                 "attention_types": [[["global", "local"], 1]]}""");
        assertThat(ConfigFile.format(mesh)).isEqualTo(ConfigFile.Format.MESH_TF);
        assertThat(ConfigFile.read(mesh).vocabSize()).isEqualTo(23);
    }

    @Test
    void aFileMixingBothFormatsIsRefused() throws IOException {
        Path mixed = Files.writeString(dir.resolve("mixed.yaml"), "hidden_size: 32\nlayers: 2\n");
        assertThatThrownBy(() -> ConfigFile.read(mixed)).isInstanceOf(CheckpointException.class)
                .hasMessage("mixed.yaml: mixes Hugging Face config.json keys ('hidden_size') and model-file keys ('layers');"
                        + " use one format");
    }

    @Test
    void ruleViolationsNameEachFormatsOwnKeys() throws IOException {
        Path hf = Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": 10, \"num_heads\": 3, \"num_layers\": 2}");
        assertThatThrownBy(() -> ConfigFile.read(hf))
                .hasMessage("config.json: hidden_size (10) must be divisible by num_heads (3)");
        Files.writeString(hf, "{\"hidden_size\": 10, \"num_attention_heads\": 3, \"num_hidden_layers\": 2}");
        assertThatThrownBy(() -> ConfigFile.read(hf))
                .hasMessage("config.json: hidden_size (10) must be divisible by num_attention_heads (3)");
        Files.writeString(hf, "{\"hidden_size\": 8, \"num_heads\": 2, \"num_layers\": 3}");
        assertThatThrownBy(() -> ConfigFile.read(hf))
                .hasMessage("config.json: attention pattern [global, local] (2 layers) must divide num_layers (3);"
                        + " set attention(...) to a pattern that does");

        Path yaml = Files.writeString(dir.resolve("tiny.yaml"), "hidden-size: 10\nheads: 3\nwindow-size: 0\n");
        assertThatThrownBy(() -> ConfigFile.read(yaml)).hasMessage("tiny.yaml: hidden-size (10) must be divisible by heads (3)");
        Files.writeString(yaml, "hidden-size: 8\nheads: 2\nlayers: 2\nwindow-size: 0\n");
        assertThatThrownBy(() -> ConfigFile.read(yaml)).hasMessage("tiny.yaml: window-size must be ≥ 1, got 0");
    }

    @Test
    void aConfigJsonMissingAnArchitecturalKeyIsReportedNotDefaulted() throws IOException {
        Path hf = Files.writeString(dir.resolve("config.json"), """
                {"model_type": "gpt_neo", "vocab_size": 300, "num_layers": 2, "num_heads": 2}""");
        assertThatThrownBy(() -> HfConfig.read(hf)).isInstanceOf(CheckpointException.class)
                .hasMessage("config.json: missing key 'hidden_size'");
        assertThatThrownBy(() -> ConfigFile.read(hf)).hasMessage("config.json: missing key 'hidden_size'");
        Files.writeString(hf, "{\"hidden_size\": 8, \"num_heads\": 2}");
        assertThatThrownBy(() -> HfConfig.read(hf))
                .hasMessage("config.json: missing key 'num_layers' (or its alias 'num_hidden_layers')");
        Files.writeString(hf, "{\"hidden_size\": 8, \"num_layers\": 2}");
        assertThatThrownBy(() -> HfConfig.read(hf))
                .hasMessage("config.json: missing key 'num_heads' (or its alias 'num_attention_heads')");
    }

    @Test
    void otherConfigJsonKeysKeepHuggingFacesDefaults() throws IOException {
        Path hf = Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": 8, \"num_heads\": 2, \"num_layers\": 2}");
        GptNeoConfig c = HfConfig.read(hf);
        assertThat(c.vocabSize()).isEqualTo(50257);
        assertThat(c.contextLength()).isEqualTo(2048);
        assertThat(c.windowSize()).isEqualTo(256);
        assertThat(c.attentionLayers()).containsExactly(AttentionType.GLOBAL, AttentionType.LOCAL);
        assertThat(c.eosTokenId()).isEqualTo(50256);
    }
}
