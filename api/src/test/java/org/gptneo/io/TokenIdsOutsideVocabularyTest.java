package org.gptneo.io;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hugging Face writes bos/eos 50256 even for tiny vocabularies: such folders load. */
class TokenIdsOutsideVocabularyTest {
    @TempDir
    Path dir;

    @Test
    void aFolderWhoseBosAndEosLieOutsideTheVocabularyLoads() throws Exception {
        try (GptNeoModel model = GptNeoBuilder.create().vocabSize(64).contextLength(16).hiddenSize(8).layers(2).heads(2)
                .windowSize(4).seed(2).build(new CpuBackend())) {
            HfCheckpoint.save(model, dir);
            Path config = dir.resolve(HfCheckpoint.CONFIG);
            ObjectNode json = (ObjectNode) HfConfig.JSON.readTree(config.toFile());
            json.put("bos_token_id", 50256).put("eos_token_id", 50256);
            Files.writeString(config, json.toString());

            try (GptNeoModel loaded = HfCheckpoint.load(dir, new CpuBackend())) {
                assertThat(loaded.config().vocabSize()).isEqualTo(64);
                assertThat(loaded.config().bosTokenId()).isEqualTo(50256);
                assertThat(loaded.config().eosTokenId()).isEqualTo(50256);
                assertThat(loaded.config().toBuilder().bosTokenId(model.config().bosTokenId())
                        .eosTokenId(model.config().eosTokenId()).seed(model.config().seed()).config())
                        .as("all else as saved (config.json has no seed)").isEqualTo(model.config());
                model.parameters().forEach((name, p) -> assertThat(loaded.parameters().get(name).value().toFloatArray())
                        .as(name).containsExactly(p.value().toFloatArray()));
            }
        }
    }
}
