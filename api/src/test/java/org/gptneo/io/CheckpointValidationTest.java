package org.gptneo.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.gptneo.backend.Backend;
import org.gptneo.backend.conformance.ReferenceBackend;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Everything a checkpoint folder can get wrong is a one-line CheckpointException naming the file and tensor. */
class CheckpointValidationTest {
    private final Backend backend = new ReferenceBackend();
    @TempDir
    Path dir;

    /** The fixture's F32 tensors (copies), keyed by stored name. */
    private static Map<String, Tensor> fixtureTensors(Arena arena) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (SafeTensorsFile f = SafeTensorsFile.open(CheckpointFixtures.folder("st_f32").resolve("model.safetensors"))) {
            for (String n : f.names()) out.put(n, f.tensor(n).to(arena, f.tensor(n).dtype()));
        }
        return out;
    }

    private Path folderWith(Map<String, Tensor> tensors) {
        Path m = CheckpointFixtures.copyFolder("st_f32", dir.resolve("m"));
        SafeTensorsWriter.write(m.resolve("model.safetensors"), tensors, Map.of());
        return m;
    }

    private void refused(Path folder, String message) {
        assertThatThrownBy(() -> HfCheckpoint.load(folder, backend, LoadOptions.defaults()))
                .isInstanceOf(CheckpointException.class).hasMessage(message);
    }

    @Test
    void missingUnexpectedAndMisshapedTensors() {
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> t = fixtureTensors(arena);
            Tensor bias = t.remove("transformer.h.1.mlp.c_fc.bias");
            refused(folderWith(t), "model.safetensors: missing tensor 'transformer.h.1.mlp.c_fc.bias'");
            t.put("transformer.h.1.mlp.c_fc.bias", bias);
            t.put("transformer.h.2.ln_1.weight", bias);
            refused(folderWith(t), "model.safetensors: unexpected tensor 'transformer.h.2.ln_1.weight' for a 2-layer GPT-Neo");
            t.remove("transformer.h.2.ln_1.weight");
            t.put("score.weight", bias);
            refused(folderWith(t), "model.safetensors: unexpected tensor 'transformer.score.weight' for a 2-layer GPT-Neo".replace(
                    "transformer.score.weight", "score.weight"));
            t.remove("score.weight");
            t.put("transformer.h.0.attn.attention.q_proj.weight", Tensor.allocate(arena, DType.F32, 8, 4));
            refused(folderWith(t), "model.safetensors: tensor 'transformer.h.0.attn.attention.q_proj.weight' has shape [8, 4]"
                    + " but config.json implies [8, 8]");
            t.put("transformer.h.0.attn.attention.q_proj.weight", Tensor.allocate(arena, DType.I32, 8, 8));
            refused(folderWith(t), "model.safetensors: tensor 'transformer.h.0.attn.attention.q_proj.weight' has dtype I32;"
                    + " parameters must be F32, F16 or BF16");
        }
    }

    @Test
    void prefixedAndBareNamesOfOneParameterClash() {
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> t = fixtureTensors(arena);
            t.put("ln_f.bias", t.get("transformer.ln_f.bias"));
            assertThatThrownBy(() -> HfCheckpoint.load(folderWith(t), backend))
                    .isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("are both parameter 'transformer.ln_f.bias'");
        }
    }

    @Test
    void anUntiedHeadIsRefused() {
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> t = fixtureTensors(arena);
            Tensor head = t.get("transformer.wte.weight").to(arena, DType.F32);
            head.setFloat(17, head.getFloat(17) + 1e-3f);
            t.put("lm_head.weight", head);
            refused(folderWith(t), "model.safetensors: lm_head.weight differs from transformer.wte.weight:"
                    + " untied heads are not supported");
            t.put("lm_head.weight", t.get("transformer.wte.weight").to(arena, DType.BF16));  // rounded: not equal either
            refused(folderWith(t), "model.safetensors: lm_head.weight differs from transformer.wte.weight:"
                    + " untied heads are not supported");
            t.put("lm_head.weight", t.get("transformer.wte.weight").rows(0, 20));
            assertThatThrownBy(() -> HfCheckpoint.load(folderWith(t), backend))
                    .hasMessage("model.safetensors: lm_head.weight has shape [20, 8] but transformer.wte.weight has [23, 8]:"
                            + " untied heads are not supported");
            t.put("lm_head.weight", t.get("transformer.wte.weight"));
            try (GptNeoModel m = HfCheckpoint.load(folderWith(t), backend)) {
                assertThat(m.parameters()).doesNotContainKey("lm_head.weight");
            }
        }
    }

    @Test
    void anUntiedHeadInATorchFileIsRefused() {
        // bin_untied_head: lm_head.weight has a storage of its own with one element changed
        assertThatThrownBy(() -> HfCheckpoint.load(CheckpointFixtures.folder("bin_untied_head"), backend))
                .isInstanceOf(CheckpointException.class)
                .hasMessage("pytorch_model.bin: lm_head.weight differs from transformer.wte.weight: untied heads are not supported");
        // bin_f16_sharded: an equal copy in the other shard is compared by streaming both files, and accepted
        try (GptNeoModel m = HfCheckpoint.load(CheckpointFixtures.folder("bin_f16_sharded"), backend)) {
            assertThat(m.parameters()).hasSize(30).doesNotContainKey("lm_head.weight");
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "'{\"vocab_size\": 0}'                           | config.json: vocab_size must be ≥ 1, got 0",
        "'{\"hidden_size\": -8}'                         | config.json: hidden_size must be ≥ 1, got -8",
        "'{\"num_heads\": 3}'                            | config.json: hidden_size (8) must be divisible by num_heads (3)",
        "'{\"num_layers\": 3}'                           | config.json: attention_types expand to 2 layers but num_layers is 3",
        "'{\"window_size\": 0}'                          | config.json: window_size must be ≥ 1, got 0",
        "'{\"max_position_embeddings\": -1}'             | config.json: max_position_embeddings must be ≥ 1, got -1",
        "'{\"num_layers\": 2000000000}'                  | config.json: num_layers 2000000000 is more than 100000",
        "'{\"attention_types\": [[[\"global\"], 2000000000]], \"num_layers\": 2}' | config.json: attention_types expands to more than 100000 layers",
        "'{\"attention_types\": [[[\"sparse\"], 2]]}'    | config.json: attention type 'sparse' is not supported (use global, local, linear or none)",
        "'{\"activation_function\": \"relu\"}'           | config.json: activation_function 'relu' is not supported (supported: gelu_new)",
        "'{\"attention_layers\": [\"local\", \"local\"]}' | config.json: attention_layers [local, local] disagrees with attention_types [[[\"global\",\"local\"],1]]",
    })
    void outOfRangeConfigValuesNameConfigJson(String override, String message) throws IOException {
        Path m = CheckpointFixtures.copyFolder("st_f32", dir.resolve("m"));
        var json = (com.fasterxml.jackson.databind.node.ObjectNode) HfConfig.JSON.readTree(m.resolve("config.json").toFile());
        json.setAll((com.fasterxml.jackson.databind.node.ObjectNode) HfConfig.JSON.readTree(override));
        Files.writeString(m.resolve("config.json"), json.toString());
        assertThatThrownBy(() -> HfCheckpoint.load(m, backend)).isInstanceOf(CheckpointException.class).hasMessage(message);
    }

    @Test
    void attentionLayersAloneAreCompressed() throws IOException {
        Path f = dir.resolve("config.json");
        Files.writeString(f, "{\"hidden_size\": 8, \"num_heads\": 2, \"num_layers\": 6, \"attention_layers\": [\"local\",\"global\",\"local\",\"global\",\"local\",\"global\"]}");
        var c = HfConfig.read(f);
        assertThat(c.attentionTypes()).hasSize(1);
        assertThat(c.attentionTypes().get(0).pattern()).containsExactly(AttentionType.LOCAL, AttentionType.GLOBAL);
        assertThat(c.attentionTypes().get(0).repeat()).isEqualTo(3);
        Files.writeString(f, "{\"hidden_size\": 8, \"num_heads\": 2, \"num_layers\": 3, \"attention_layers\": [\"local\",\"local\",\"global\"]}");
        assertThat(HfConfig.read(f).attentionLayers()).containsExactly(AttentionType.LOCAL, AttentionType.LOCAL, AttentionType.GLOBAL);
        Files.writeString(f, "{\"hidden_size\": 8, \"num_heads\": 2, \"num_layers\": 2, \"attention_layers\": [\"local\", 7]}");
        assertThatThrownBy(() -> HfConfig.read(f)).hasMessage("config.json: attention_layers holds 7, not a type name");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "../model-00001-of-00003.safetensors | is mapped to '../model-00001-of-00003.safetensors', which is not a plain file name",
        "/etc/passwd                         | is mapped to '/etc/passwd', which is not a plain file name",
        "sub/model.safetensors               | which is not a plain file name",
        "model-00009-of-00009.safetensors    | is mapped to 'model-00009-of-00009.safetensors', which does not exist",
        "..                                  | which is not a plain file name",
    })
    void theShardIndexIsValidated(String target, String message) throws IOException {
        Path m = CheckpointFixtures.copyFolder("st_f32_sharded", dir.resolve("m"));
        Path index = m.resolve("model.safetensors.index.json");
        var json = (com.fasterxml.jackson.databind.node.ObjectNode) HfConfig.JSON.readTree(index.toFile());
        ((com.fasterxml.jackson.databind.node.ObjectNode) json.get("weight_map")).put("transformer.wte.weight", target);
        Files.writeString(index, json.toString());
        assertThatThrownBy(() -> HfCheckpoint.load(m, backend)).isInstanceOf(CheckpointException.class)
                .hasMessageStartingWith("model.safetensors.index.json: tensor 'transformer.wte.weight' is mapped to")
                .hasMessageContaining(message);
    }

    @Test
    void aTensorMappedToTheWrongShardIsRefused() throws IOException {
        Path m = CheckpointFixtures.copyFolder("st_f32_sharded", dir.resolve("m"));
        Path index = m.resolve("model.safetensors.index.json");
        var json = (com.fasterxml.jackson.databind.node.ObjectNode) HfConfig.JSON.readTree(index.toFile());
        ((com.fasterxml.jackson.databind.node.ObjectNode) json.get("weight_map"))
                .put("transformer.wte.weight", "model-00002-of-00003.safetensors");
        Files.writeString(index, json.toString());
        assertThatThrownBy(() -> HfCheckpoint.load(m, backend)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("'transformer.wte.weight'").hasMessageContaining("model-00002-of-00003.safetensors");
    }

    @Test
    void aShardHoldingAnUnlistedTensorOrAnEmptyIndexIsRefused() throws IOException {
        Path m = CheckpointFixtures.copyFolder("st_f32_sharded", dir.resolve("m"));
        Path index = m.resolve("model.safetensors.index.json");
        var json = (com.fasterxml.jackson.databind.node.ObjectNode) HfConfig.JSON.readTree(index.toFile());
        String first = json.get("weight_map").fieldNames().next();
        String file = json.get("weight_map").get(first).asText();
        ((com.fasterxml.jackson.databind.node.ObjectNode) json.get("weight_map")).remove(first);
        Files.writeString(index, json.toString());
        assertThatThrownBy(() -> HfCheckpoint.load(m, backend)).isInstanceOf(CheckpointException.class)
                .hasMessage(file + ": holds tensor '" + first + "', which model.safetensors.index.json does not list");
        Files.writeString(index, "{\"weight_map\": {}}");
        assertThatThrownBy(() -> HfCheckpoint.load(m, backend)).hasMessageContaining("weight_map is empty");
        Files.writeString(index, "{\"weight_map\": {\"a\": 3}}");
        assertThatThrownBy(() -> HfCheckpoint.load(m, backend)).hasMessageContaining("is not a file name string");
        Files.writeString(index, "[1]");
        assertThatThrownBy(() -> HfCheckpoint.load(m, backend)).hasMessage("model.safetensors.index.json: not a JSON object");
    }

    @Test
    void aFolderWithoutWeightsSaysWhatItLookedFor() throws IOException {
        Files.copy(CheckpointFixtures.folder("st_f32").resolve("config.json"), dir.resolve("config.json"));
        assertThatThrownBy(() -> HfCheckpoint.load(dir, backend)).isInstanceOf(CheckpointException.class)
                .hasMessage(dir + ": no weights (model.safetensors, model.safetensors.index.json, pytorch_model.bin"
                        + " or pytorch_model.bin.index.json)");
    }
}
