package org.gptneo.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.Objective;
import org.gptneo.model.PositionEmbedding;
import org.gptneo.nn.SecondExpertPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The variants' config.json and model-file keys (issue 9's contract): defaults, round trips, errors. */
class VariantConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static GptNeoBuilder small() {
        return GptNeoBuilder.create().vocabSize(50).contextLength(12).hiddenSize(8).layers(4).heads(2).windowSize(3);
    }

    private static JsonNode json(String text) throws IOException {
        return JSON.readTree(text.replace('\'', '"'));
    }

    private static final String BASE = "{'vocab_size': 50, 'max_position_embeddings': 12, 'hidden_size': 8, 'num_layers': 4, "
            + "'num_heads': 2, 'window_size': 3, ";

    @Test
    void absentKeysAreTheContractsDefaults() throws IOException {
        GptNeoConfig c = HfConfig.fromJson(json(BASE + "'moe_layers': [1, 3]}"));
        assertThat(c.positions().kind()).isEqualTo(PositionEmbedding.LEARNED);
        assertThat(c.objective()).isEqualTo(Objective.CAUSAL_LM);
        var m = c.moe();
        assertThat(m.layers()).containsExactly(1, 3);
        assertThat(m.experts()).isEqualTo(16);
        assertThat(m.topK()).isEqualTo(2);
        assertThat(m.width(8)).isEqualTo(32);
        assertThat(m.activation()).isEqualTo("relu");
        assertThat(m.capacityFactor()).isEqualTo(1.25f);
        assertThat(m.evalCapacityFactor()).isEqualTo(2.0f);
        assertThat(m.minCapacity()).isEqualTo(1);
        assertThat(m.groupSize()).isEqualTo(1024);
        assertThat(m.secondPolicy()).isEqualTo(SecondExpertPolicy.RANDOM);
        assertThat(m.secondPolicyEval()).isEqualTo(SecondExpertPolicy.ALL);
        assertThat(m.secondThreshold()).isEqualTo(0.2f);
        assertThat(m.auxLossCoefficient()).isEqualTo(0.01f);
        assertThat(c.maskedLm().maskProbability()).isEqualTo(0.15f);
        assertThat(c.maskedLm().sameTokenProbability()).isEqualTo(0.10f);
        assertThat(c.maskedLm().randomTokenProbability()).isEqualTo(0.10f);
    }

    @Test
    void everyVariantRoundTripsThroughConfigJsonAndTheModelFile() throws IOException {
        List<GptNeoConfig> configs = List.of(
                small().attention(AttentionType.LINEAR, AttentionType.NONE).positions(PositionEmbedding.ROTARY).config(),
                small().positions(PositionEmbedding.AXIAL, 4, 3).experts(4).topK(1).capacityFactor(1.5f)
                        .evalCapacityFactor(3f).secondExpertPolicy(SecondExpertPolicy.THRESHOLD, SecondExpertPolicy.NONE).config(),
                small().objective(Objective.MASKED_LM).maskTokenId(49).maskProbability(0.2f).maskReplacement(0.05f, 0.15f)
                        .expertLayers(0, 2).config());
        for (GptNeoConfig c : configs) {
            assertThat(HfConfig.fromJson(HfConfig.toJson(c))).isEqualTo(c);
            Path file = dir.resolve("model.yaml");
            ModelConfigFile.write(c, file);
            assertThat(ModelConfigFile.read(file).config()).isEqualTo(c);
        }
        JsonNode written = HfConfig.toJson(configs.get(1));
        assertThat(written.get("position_embedding").asText()).isEqualTo("axial");
        assertThat(written.get("axial_shape").toString()).isEqualTo("[4,3]");
        assertThat(written.get("moe_layers").toString()).isEqualTo("[1,3]");   // every other layer by default
        assertThat(written.get("moe_second_policy").asText()).isEqualTo("threshold");
    }

    @Test
    void aStandardModelsConfigJsonHasNoVariantKeys() {
        JsonNode written = HfConfig.toJson(small().config());
        for (String key : VariantKeys.NAMES) assertThat(written.has(key)).as(key).isFalse();
    }

    @Test
    void impossibleVariantsAreRefusedNamingTheKey() throws IOException {
        Path file = dir.resolve("config.json");
        String[][] cases = {
            {"'position_embedding': 'axial', 'axial_shape': [5, 3]}",
                "config.json: axial shape [5, 3] does not match max_position_embeddings (12): a1·a2 must equal it"},
            {"'position_embedding': 'axial'}", "config.json: axial_shape must be a list [a1, a2] for axial positions"},
            {"'position_embedding': 'sinusoid'}", "config.json: position_embedding 'sinusoid' is not one of learned, axial, rotary"},
            {"'moe_layers': [1], 'moe_num_experts': 1}", "config.json: moe_top_k (2) is more than moe_num_experts (1)"},
            {"'moe_layers': [4]}", "config.json: moe_layers names layer 4, outside the model's layers 0..3"},
            {"'moe_layers': [1], 'moe_top_k': 3}", "config.json: moe_top_k must be 1 or 2, got 3"},
            {"'moe_layers': [1], 'moe_second_policy_eval': 'random'}", "config.json: moe_second_policy_eval 'random' is a"
                + " training-only policy (passes without dropout take all, threshold or none)"},
            {"'moe_layers': [1], 'moe_second_policy': 'sometimes'}",
                "config.json: second-expert policy 'sometimes' is not one of all, random, threshold, none"},
            {"'objective': 'masked_lm'}", "config.json: a masked-LM model needs mask_token_id (the id of its mask token)"},
            {"'objective': 'masked_lm', 'mask_token_id': 50}", "config.json: mask_token_id (50) is outside the vocabulary [0, 50)"},
            {"'attention_types': [[['global', 'sparse'], 2]]}",
                "config.json: attention type 'sparse' is not supported (use global, local, linear or none)"},
        };
        for (String[] c : cases) {
            Files.writeString(file, (BASE + c[0]).replace('\'', '"'));
            assertThatThrownBy(() -> HfConfig.read(file)).as(c[0]).hasMessage(c[1]);
        }
    }
}
