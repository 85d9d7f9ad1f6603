package org.gptneo.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.gptneo.backend.Backend;
import org.gptneo.backend.conformance.ReferenceBackend;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfCheckpointTest {
    private final Backend backend = new ReferenceBackend();
    @TempDir
    Path dir;

    private static GptNeoModel tinyModel(Backend backend) {
        return GptNeoBuilder.create().vocabSize(40).contextLength(10).hiddenSize(6).layers(2).heads(3)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(4).intermediateSize(10).seed(5)
                .build(backend);
    }

    @Test
    void saveThenLoadGivesTheSameParametersAndConfig() throws IOException {
        try (GptNeoModel model = tinyModel(backend)) {
            HfCheckpoint.save(model, dir);
            JsonNode config = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
            assertThat(config.get("model_type").asText()).isEqualTo("gpt_neo");
            assertThat(config.get("num_layers").asInt()).isEqualTo(2);
            assertThat(config.get("attention_types").toString()).isEqualTo("[[[\"global\",\"local\"],1]]");
            assertThat(config.get("attention_layers").toString()).isEqualTo("[\"global\",\"local\"]");
            assertThat(config.get("intermediate_size").asInt()).isEqualTo(10);
            try (SafeTensorsFile file = SafeTensorsFile.open(dir.resolve("model.safetensors"))) {
                assertThat(file.names()).doesNotContain("lm_head.weight").contains("transformer.wte.weight");
                assertThat(file.names()).hasSize(model.parameters().size());
            }
            try (GptNeoModel loaded = HfCheckpoint.load(dir, backend)) {
                assertThat(loaded.config()).isEqualTo(model.config().toBuilder().seed(loaded.config().seed()).config());
                model.parameters().forEach((name, p) -> assertThat(loaded.parameters().get(name).value().toFloatArray())
                        .as(name).containsExactly(p.value().toFloatArray()));
            }
            assertThat(Files.getPosixFilePermissions(dir.resolve("config.json")))
                    .as("config.json is created like any file (umask), not owner-only like a temp file")
                    .isEqualTo(Files.getPosixFilePermissions(dir.resolve("model.safetensors")))
                    .contains(java.nio.file.attribute.PosixFilePermission.OWNER_READ);
            assertThat(Files.list(dir).map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder("config.json", "model.safetensors");
        }
    }

    @Test
    void acceptsBareNamesHalfPrecisionATiedHeadAndOldMaskBuffers() {
        try (GptNeoModel model = tinyModel(backend); Arena arena = Arena.ofShared()) {
            HfCheckpoint.save(model, dir);
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            model.parameters().forEach((name, p) -> tensors.put(name.substring("transformer.".length()),
                    p.value().to(arena, DType.BF16)));
            tensors.put("lm_head.weight", tensors.get("wte.weight"));   // tied: equal to the stored wte
            tensors.put("h.0.attn.attention.bias", Tensor.allocate(arena, DType.F32, 1, 1, 10, 10));
            tensors.put("h.0.attn.attention.masked_bias", Tensor.allocate(arena, DType.F32));
            SafeTensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of());
            try (GptNeoModel loaded = HfCheckpoint.load(dir, backend)) {
                float[] expected = model.parameters().get("transformer.h.1.mlp.c_fc.weight").value().toFloatArray();
                float[] actual = loaded.parameters().get("transformer.h.1.mlp.c_fc.weight").value().toFloatArray();
                for (int i = 0; i < expected.length; i++) {
                    assertThat(actual[i]).isCloseTo(expected[i], org.assertj.core.data.Percentage.withPercentage(0.5));
                }
            }
        }
    }

    @Test
    void missingOrMisshapedTensorsAreNamed() {
        try (GptNeoModel model = tinyModel(backend)) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            model.parameters().forEach((name, p) -> tensors.put(name, p.value()));
            HfCheckpoint.save(model, dir);

            tensors.remove("transformer.h.1.ln_2.bias");
            SafeTensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of());
            assertThatThrownBy(() -> HfCheckpoint.load(dir, backend))
                    .isInstanceOf(CheckpointException.class).hasMessage("model.safetensors: missing tensor 'transformer.h.1.ln_2.bias'");

            tensors.put("transformer.h.1.ln_2.bias", model.parameters().get("transformer.h.1.ln_1.weight").value().reshape(2, 3));
            SafeTensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of());
            assertThatThrownBy(() -> HfCheckpoint.load(dir, backend))
                    .isInstanceOf(CheckpointException.class)
                    .hasMessage("model.safetensors: tensor 'transformer.h.1.ln_2.bias' has shape [2, 3] but config.json implies [6]");
        }
    }

    @Test
    void aFolderWithoutConfigIsRefused() {
        assertThatThrownBy(() -> HfCheckpoint.load(dir, backend))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("no config.json");
    }

    @Test
    void configJsonAliasesDefaultsAndBadValues() throws IOException {
        Files.writeString(dir.resolve("config.json"), """
                {"model_type": "gpt_neo", "vocab_size": 100, "num_hidden_layers": 4, "num_attention_heads": 4,
                 "hidden_size": 16, "attention_types": [[["local"], 2], [["global"], 2]],
                 "torch_dtype": "float16", "architectures": ["GPTNeoForCausalLM"], "unknown": 1}""");
        var c = HfConfig.read(dir.resolve("config.json"));
        assertThat(c.layers()).isEqualTo(4);
        assertThat(c.heads()).isEqualTo(4);
        assertThat(c.contextLength()).isEqualTo(2048);
        assertThat(c.windowSize()).isEqualTo(256);
        assertThat(c.attentionLayers()).containsExactly(AttentionType.LOCAL, AttentionType.LOCAL, AttentionType.GLOBAL, AttentionType.GLOBAL);

        Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": \"big\"}");
        assertThatThrownBy(() -> HfConfig.read(dir.resolve("config.json")))
                .isInstanceOf(CheckpointException.class).hasMessage("config.json: hidden_size must be an integer, got \"big\"");
        Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": 10, \"num_heads\": 3");
        assertThatThrownBy(() -> HfConfig.read(dir.resolve("config.json")))
                .isInstanceOf(CheckpointException.class).hasMessageStartingWith("config.json: not readable JSON");
        Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": 10, \"num_heads\": 3, \"num_layers\": 2}");
        assertThatThrownBy(() -> HfConfig.read(dir.resolve("config.json")))
                .hasMessage("config.json: hidden_size (10) must be divisible by num_heads (3)");
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"gpt2\"}");
        assertThatThrownBy(() -> HfConfig.read(dir.resolve("config.json"))).hasMessageContaining("not 'gpt_neo'");
    }
}
