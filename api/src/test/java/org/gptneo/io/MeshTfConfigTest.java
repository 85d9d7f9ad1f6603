package org.gptneo.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.MaskedLmSettings;
import org.gptneo.model.Objective;
import org.gptneo.model.Positions;
import org.gptneo.nn.MoeSettings;
import org.gptneo.nn.SecondExpertPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** mesh-tensorflow GPT-Neo configs → GptNeoConfig, and refusal of features Hugging Face's GPT-Neo lacks. */
class MeshTfConfigTest {
    @TempDir
    Path dir;

    private Path write(String json) throws IOException {
        Path f = dir.resolve("model.json");
        Files.writeString(f, json);
        return f;
    }

    private ObjectNode tiny() throws IOException {
        return (ObjectNode) HfConfig.JSON.readTree(CheckpointFixtures.root().resolve("meshtf/tiny.json").toFile());
    }

    @Test
    void theFixtureMapsToTheSameModelAsItsHfConfig() {
        GptNeoConfig mesh = MeshTfConfig.read(CheckpointFixtures.root().resolve("meshtf/tiny.json"));
        GptNeoConfig hf = HfConfig.read(CheckpointFixtures.folder("st_f32").resolve("config.json"));
        assertThat(mesh).isEqualTo(hf);
    }

    @Test
    void keysMapAsSection12Says() throws IOException {
        ObjectNode c = tiny();
        c.put("n_vocab", 50304).put("eos_id", 50256).put("local_attention_radius", 5).put("res_dropout", 0.1)
                .put("embed_dropout", 0.2).put("attn_dropout", 0.3).put("activation_fn", "gelu").remove("n_head");
        c.put("n_heads", 4);
        c.set("attention_types", HfConfig.JSON.readTree("[[[\"local\"], 1], [[\"global\"], 1]]"));
        GptNeoConfig g = MeshTfConfig.read(write(c.toString()));
        assertThat(g.vocabSize()).as("n_vocab is kept, padded rows included").isEqualTo(50304);
        assertThat(g.eosTokenId()).isEqualTo(50256);
        assertThat(g.bosTokenId()).isEqualTo(50256);
        assertThat(g.windowSize()).isEqualTo(5);
        assertThat(g.heads()).isEqualTo(4);
        assertThat(g.residDropout()).isEqualTo(0.1f);
        assertThat(g.embedDropout()).isEqualTo(0.2f);
        assertThat(g.attentionDropout()).isEqualTo(0.3f);
        assertThat(g.attentionLayers()).containsExactly(AttentionType.LOCAL, AttentionType.GLOBAL);
        assertThat(g.hiddenSize()).isEqualTo(8);
        assertThat(g.contextLength()).isEqualTo(8);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "\"mlp_glu\": true                   | mlp_glu (a gated (GLU) MLP) has no GPT-Neo equivalent",
        "\"moe_layers\": [1], \"moe_params\": {\"moe_dropout_rate\": 0.1} | moe_params.moe_dropout_rate (dropout inside experts) is not supported",
        "\"moe_layers\": [1], \"moe_params\": {\"moe_capacity\": 3} | moe_params.moe_capacity has no GPT-Neo equivalent",
        "\"moe_layers\": [1], \"moe_params\": {\"moe_gating\": \"ntlb\"} | moe_params.moe_gating 'ntlb' is not one of top_2, switch",
        "\"axial_pos_emb\": [4, 3]           | axial shape [4, 3] does not match contextLength (8)",
        "\"mlm_training\": true              | a masked-LM model needs maskTokenId",
        "\"mlm_training\": true, \"mlm_mask_id\": 3, \"mlm_cls_token_id\": 4 | mlm_cls_token_id (a prepended CLS token) has no GPT-Neo equivalent",
        "\"causal\": false                   | causal = false without mlm_training has no GPT-Neo equivalent",
        "\"scalenorm\": true                 | scalenorm (ScaleNorm instead of LayerNorm) has no",
        "\"rezero\": true                    | rezero (ReZero residuals without LayerNorm) has no",
        "\"num_mem_kv\": 4                   | num_mem_kv (learned memory key/values) has no",
        "\"macaron\": true                   | macaron (macaron (half-step MLP) blocks) has no",
        "\"share_parameters\": true          | share_parameters (parameters shared across layers) has no",
        "\"no_weight_tie\": true             | no_weight_tie (an untied output layer) has no",
        "\"activation_fn\": \"selu\"         | activation_fn 'selu' has no Hugging Face GPT-Neo equivalent",
        "\"activation_function\": \"relu\"   | activation_function 'relu' has no",
        "\"n_head\": 3                       | hiddenSize (8) must be divisible by heads (3)",
        "\"n_vocab\": 0                      | vocabSize must be ≥ 1, got 0",
        "\"n_embd\": \"wide\"                | n_embd must be an integer",
        "\"n_layer\": 3                      | attentionTypes expand to 2 layers but layers is 3",
    })
    void unsupportedOrInvalidKeysAreNamed(String override, String message) throws IOException {
        ObjectNode c = tiny();
        c.setAll((ObjectNode) HfConfig.JSON.readTree("{" + override + "}"));
        Path f = write(c.toString());
        assertThatThrownBy(() -> MeshTfConfig.read(f)).isInstanceOf(CheckpointException.class)
                .hasMessageStartingWith("model.json: ").hasMessageContaining(message);
    }

    @Test
    void theVariantsMapToTheContract() throws IOException {
        ObjectNode c = tiny();
        c.setAll((ObjectNode) HfConfig.JSON.readTree("{\"attention_types\": [[[\"linear\", \"none\"], 1]], \"rotary_emb\": true,"
                + " \"axial_pos_emb\": [4, 2], \"moe_layers\": [1], \"moe_activation\": \"gelu\", \"moe_params\": {"
                + "\"moe_num_experts\": 4, \"moe_hidden_size\": 12, \"moe_capacity_factor_train\": 1.5, \"moe_loss_coef\": 0.02,"
                + " \"moe_gating\": \"switch\", \"moe_second_policy_eval\": \"threshold\", \"moe_min_expert_capacity\": 2},"
                + " \"mlm_training\": true, \"mlm_mask_id\": 5, \"mlm_mask_prob\": 0.2}"));
        GptNeoConfig g = MeshTfConfig.read(write(c.toString()));
        assertThat(g.attentionLayers()).containsExactly(AttentionType.LINEAR, AttentionType.NONE);
        assertThat(g.positions()).isEqualTo(Positions.ROTARY);                       // rotary wins over axial
        assertThat(g.moe()).isEqualTo(new MoeSettings(List.of(1), 4, 1, 12, "gelu_new", 1.5f, 2.0f, 2, 1024,
                SecondExpertPolicy.RANDOM, SecondExpertPolicy.THRESHOLD, 0.2f, 0.02f));
        assertThat(g.objective()).isEqualTo(Objective.MASKED_LM);
        assertThat(g.maskedLm()).isEqualTo(new MaskedLmSettings(5, 0.2f, 0.10f, 0f));  // mesh-tf's code default for random
        c.remove("rotary_emb");
        assertThat(MeshTfConfig.read(write(c.toString())).positions()).isEqualTo(Positions.axial(4, 2));
    }

    @Test
    void switchedOffVariantsAndTrainingKeysAreIgnored() throws IOException {
        ObjectNode c = tiny();
        c.setAll((ObjectNode) HfConfig.JSON.readTree("{\"moe_layers\": [], \"rotary_emb\": false, \"num_mem_kv\": 0,"
                + " \"moe_params\": {}, \"axial_pos_emb\": null, \"precision\": \"bfloat16\", \"z_loss\": 0.0001,"
                + " \"some_future_key\": [1, 2]}"));
        assertThat(MeshTfConfig.read(write(c.toString()))).isEqualTo(MeshTfConfig.read(CheckpointFixtures.root().resolve("meshtf/tiny.json")));
        c.remove("n_embd");
        Path f = write(c.toString());
        assertThatThrownBy(() -> MeshTfConfig.read(f)).hasMessage("model.json: n_embd is missing");
    }

    @Test
    void convertingAMeshTfConfigWritesConfigJsonOnly() throws IOException {
        Path out = dir.resolve("hf");
        Converter.Result r = Converter.convert(CheckpointFixtures.root().resolve("meshtf/tiny.json"), out, SaveOptions.defaults());
        assertThat(r.weights()).isFalse();
        assertThat(r.written()).containsExactly(out.resolve("config.json"));
        try (var files = Files.list(out)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly("config.json");
        }
        assertThat(HfConfig.read(out.resolve("config.json"))).isEqualTo(r.config());
        var json = HfConfig.JSON.readTree(out.resolve("config.json").toFile());
        assertThat(json.get("model_type").asText()).isEqualTo("gpt_neo");
        assertThat(json.get("window_size").asInt()).isEqualTo(3);
        Path notMesh = write("{\"hidden_size\": 8}");
        assertThatThrownBy(() -> Converter.convert(notMesh, out, SaveOptions.defaults()))
                .isInstanceOf(CheckpointException.class).hasMessage("model.json: not a mesh-tf config (no n_embd or n_layer key)");
    }
}
