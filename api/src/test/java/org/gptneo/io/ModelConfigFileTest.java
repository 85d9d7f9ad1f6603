package org.gptneo.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelConfigFileTest {
    @TempDir
    Path dir;

    private final GptNeoConfig config = GptNeoBuilder.create().vocabSize(300).contextLength(64).hiddenSize(32)
            .layers(4).heads(4).attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(8)
            .intermediateSize(48).dropout(0.1f).seed(77).config();

    @Test
    void yamlAndJsonRoundTrip() {
        for (String name : new String[] {"model.yaml", "model.json"}) {
            Path file = dir.resolve(name);
            ModelConfigFile.write(config, file);
            assertThat(ModelConfigFile.read(file).config()).as(name).isEqualTo(config);
        }
    }

    @Test
    void aHandWrittenYamlFileWithDefaults() throws IOException {
        Path file = dir.resolve("small.yml");
        Files.writeString(file, """
                # a small model
                vocab-size: 512
                hidden-size: 64
                layers: 2
                heads: 4
                attention: [[[global, local], 1]]
                """);
        GptNeoConfig c = ModelConfigFile.read(file).config();
        assertThat(c.vocabSize()).isEqualTo(512);
        assertThat(c.contextLength()).isEqualTo(2048);
        assertThat(c.attentionLayers()).containsExactly(AttentionType.GLOBAL, AttentionType.LOCAL);
    }

    @Test
    void typosAndBadValuesAreNamed() throws IOException {
        Path file = dir.resolve("bad.yaml");
        Files.writeString(file, "hiden-size: 64\n");
        assertThatThrownBy(() -> ModelConfigFile.read(file))
                .isInstanceOf(CheckpointException.class).hasMessageStartingWith("bad.yaml: unknown key 'hiden-size'");
        Files.writeString(file, "attention: [[[global, sparse], 1]]\nlayers: 2\n");
        assertThatThrownBy(() -> ModelConfigFile.read(file))
                .hasMessageContaining("attention type 'sparse' is not supported");
        Files.writeString(file, "layers: [1, 2\n");
        assertThatThrownBy(() -> ModelConfigFile.read(file)).hasMessageStartingWith("bad.yaml: not readable JSON or YAML");
    }
}
