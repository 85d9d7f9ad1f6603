package org.gptneo.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.lora.LoRA;
import org.gptneo.lora.LoraAdapter;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoModel;
import org.gptneo.nn.AdamW;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An adapter trained here, saved and loaded onto a second copy of the base: PEFT's config keys
 * and tensor names on disk, bit-equal logits after loading, names with PEFT's {@code .default}
 * segment accepted, merge refused on read-only mapped weights; and folders that are missing,
 * malformed or do not fit the model give one-line errors naming the file, leaving the model as it was.
 */
class AdapterCheckpointRoundTripTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Backend backend = new CpuBackend();
    private final Arena arena = Arena.ofShared();
    @TempDir
    Path tmp;

    @AfterEach
    void close() {
        arena.close();
        backend.close();
    }

    private static GptNeoBuilder tiny() {
        return GptNeoBuilder.create().vocabSize(40).contextLength(16).hiddenSize(8).layers(2).heads(2).intermediateSize(12)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(4).dropout(0f).seed(9);
    }

    private Tensor ids() {
        return backend.upload(Tensor.ofInts(arena, new int[] {3, 7, 11, 15, 19, 23, 27, 31, 4, 8, 12, 16, 20, 24, 28, 32}, 2, 8), arena);
    }

    private float[] logits(GptNeoModel model) {
        try (Tape tape = new Tape(backend, false)) {
            return model.forward(tape, ids(), false).value().toFloatArray();
        }
    }

    /** An adapter on all six projections, trained three AdamW steps so that B is non-zero, saved into {@code dir}. */
    private float[] trainAndSave(Path dir) {
        try (GptNeoModel model = tiny().build(backend);
             LoraAdapter adapter = LoRA.rank(3).alpha(5).dropout(0.1f)
                     .targets("q_proj", "k_proj", "v_proj", "out_proj", "c_fc", "c_proj").seed(4).apply(model);
             AdamW adamW = new AdamW(backend, model.registry().trainable().asVars(), AdamW.Settings.defaults().withLr(0.05f))) {
            for (int step = 0; step < 3; step++) {
                try (Tape tape = new Tape(backend, true)) {
                    model.zeroGrad();
                    tape.backward(model.loss(tape, model.forward(tape, ids(), true), ids()));
                    adamW.step();
                }
            }
            assertThat(AdapterCheckpoint.save(adapter, dir, "EleutherAI/gpt-neo-125M"))
                    .containsExactly(dir.resolve("adapter_model.safetensors"), dir.resolve("adapter_config.json"));
            return logits(model);
        }
    }

    @Test
    void savedAdapterLoadsOntoTheSameBaseWithEqualLogits() throws IOException {
        Path dir = tmp.resolve("adapter");
        float[] trained = trainAndSave(dir);

        JsonNode config = JSON.readTree(dir.resolve("adapter_config.json").toFile());
        assertThat(config.get("peft_type").asText()).isEqualTo("LORA");
        assertThat(config.get("task_type").asText()).isEqualTo("CAUSAL_LM");
        assertThat(config.get("r").asInt()).isEqualTo(3);
        assertThat(config.get("lora_alpha").isIntegralNumber()).isTrue();
        assertThat(config.get("lora_alpha").asInt()).isEqualTo(5);
        assertThat(config.get("lora_dropout").asDouble()).isEqualTo(0.1);          // as PEFT writes it, not 0.10000000149
        assertThat(config.get("target_modules").toString()).isEqualTo("[\"q_proj\",\"k_proj\",\"v_proj\",\"out_proj\",\"c_fc\",\"c_proj\"]");
        assertThat(config.get("bias").asText()).isEqualTo("none");
        assertThat(config.get("use_rslora").asBoolean()).isFalse();
        assertThat(config.get("fan_in_fan_out").asBoolean()).isFalse();
        assertThat(config.get("modules_to_save").isNull()).isTrue();
        assertThat(config.get("base_model_name_or_path").asText()).isEqualTo("EleutherAI/gpt-neo-125M");
        try (SafeTensorsFile file = SafeTensorsFile.open(dir.resolve("adapter_model.safetensors"))) {
            assertThat(file.names()).hasSize(24).allMatch(n -> n.matches(
                    "base_model\\.model\\.transformer\\.h\\.[01]\\.(attn\\.attention\\.(q|k|v|out)_proj|mlp\\.c_(fc|proj))\\.lora_[AB]\\.weight"));
            assertThat(file.shape("base_model.model.transformer.h.1.mlp.c_proj.lora_A.weight")).containsExactly(3, 12);
            assertThat(file.shape("base_model.model.transformer.h.1.mlp.c_proj.lora_B.weight")).containsExactly(8, 3);
            assertThat(file.names()).allMatch(n -> file.dtypeName(n).equals("F32"));
        }

        try (GptNeoModel model = tiny().build(backend); LoraAdapter loaded = AdapterCheckpoint.load(model, dir)) {
            assertThat(loaded.config()).isEqualTo(LoRA.rank(3).alpha(5).dropout(0.1f)
                    .targets("q_proj", "k_proj", "v_proj", "out_proj", "c_fc", "c_proj"));
            assertThat(logits(model)).containsExactly(trained);
            assertThat(model.registry().trainable().size()).isEqualTo(24);
        }
    }

    @Test
    void namesWithPeftsDefaultAdapterSegmentAreAccepted() throws IOException {
        Path dir = tmp.resolve("adapter");
        float[] trained = trainAndSave(dir);
        rewriteTensors(dir, t -> {
            Map<String, Tensor> renamed = new LinkedHashMap<>();
            t.forEach((n, v) -> renamed.put(n.replace(".weight", ".default.weight"), v));
            t.clear();
            t.putAll(renamed);
        });
        try (GptNeoModel model = tiny().build(backend); LoraAdapter loaded = AdapterCheckpoint.load(model, dir)) {
            assertThat(logits(model)).containsExactly(trained);
        }
    }

    @Test
    void mergeIsRefusedOnReadOnlyMappedWeights() {
        Path base = tmp.resolve("base"), dir = tmp.resolve("adapter");
        try (GptNeoModel model = tiny().build(backend)) {
            HfCheckpoint.save(model, base);
        }
        float[] trained = trainAndSave(dir);
        try (GptNeoModel model = HfCheckpoint.load(base, backend, LoadOptions.defaults()); LoraAdapter adapter = AdapterCheckpoint.load(model, dir)) {
            assertThatThrownBy(adapter::merge).isInstanceOf(IllegalStateException.class).hasMessage(
                    "cannot merge LoRA into transformer.h.0.attn.attention.q_proj.weight: it is read-only (mapped from a file);"
                            + " load the model with writable F32 weights to merge");
            assertThat(adapter.isAttached()).isTrue();
            assertThat(logits(model)).containsExactly(trained);
        }
    }

    @Test
    void hostileOrMismatchedFoldersGiveOneLineErrors() throws IOException {
        Path good = tmp.resolve("good");
        trainAndSave(good);
        expectError(good, d -> deleteFile(d.resolve("adapter_config.json")), "no adapter_config.json (not a PEFT adapter folder)");
        expectError(good, d -> deleteFile(d.resolve("adapter_model.safetensors")), "no adapter_model.safetensors");
        expectError(good, d -> write(d.resolve("adapter_config.json"), "{\"peft_type\": \"LORA\", "), "adapter_config.json: not readable JSON");
        expectError(good, d -> write(d.resolve("adapter_model.safetensors"), "garbage!!"), "adapter_model.safetensors: header length");
        expectError(good, d -> edit(d, c -> c.put("peft_type", "PREFIX_TUNING")),
                "adapter_config.json: peft_type is \"PREFIX_TUNING\"; only \"LORA\" adapters are supported");
        expectError(good, d -> edit(d, c -> c.remove("peft_type")), "adapter_config.json: peft_type is missing");
        expectError(good, d -> edit(d, c -> c.put("bias", "lora_only")), "adapter_config.json: bias is \"lora_only\"");
        expectError(good, d -> edit(d, c -> c.put("use_rslora", true)),
                "adapter_config.json: use_rslora is true: rank-stabilised scaling alpha/sqrt(r) is not supported");
        expectError(good, d -> edit(d, c -> c.put("fan_in_fan_out", true)), "adapter_config.json: fan_in_fan_out is true");
        expectError(good, d -> edit(d, c -> c.putArray("modules_to_save").add("lm_head")), "adapter_config.json: modules_to_save is [\"lm_head\"]");
        expectError(good, d -> edit(d, c -> c.putObject("rank_pattern").put("q_proj", 2)), "adapter_config.json: rank_pattern is");
        expectError(good, d -> edit(d, c -> c.put("target_modules", ".*q_proj")), "adapter_config.json: target_modules is the regular expression");
        expectError(good, d -> edit(d, c -> c.putArray("target_modules").add("q_proj").add("c_attn")),
                "adapter_config.json: target_modules names unknown module \"c_attn\"; GPT-Neo's are [q_proj, k_proj, v_proj, out_proj, c_fc, c_proj]");
        expectError(good, d -> edit(d, c -> c.put("r", 2.5)), "adapter_config.json: r must be an integer, got 2.5");
        expectError(good, d -> edit(d, c -> c.put("r", 0)), "adapter_config.json: LoRA rank must be at least 1, got 0");
        expectError(good, d -> edit(d, c -> c.put("r", 2)), "adapter_model.safetensors: tensor "
                + "'base_model.model.transformer.h.0.attn.attention.q_proj.lora_A.weight' has shape [3, 8] but r=2 and the model imply [2, 8]");
        expectError(good, d -> edit(d, c -> c.putArray("target_modules").add("q_proj")), "adapter_model.safetensors: unexpected tensor");
        expectError(good, d -> rewriteTensors(d, t -> t.remove("base_model.model.transformer.h.1.mlp.c_fc.lora_B.weight")),
                "adapter_model.safetensors: missing tensor 'base_model.model.transformer.h.1.mlp.c_fc.lora_B.weight'");
        expectError(good, d -> rewriteTensors(d, t -> t.put("base_model.model.transformer.h.2.mlp.c_fc.lora_A.weight",
                t.get("base_model.model.transformer.h.1.mlp.c_fc.lora_A.weight"))),
                "adapter_model.safetensors: unexpected tensor 'base_model.model.transformer.h.2.mlp.c_fc.lora_A.weight'");
        expectError(good, d -> rewriteTensors(d, t -> t.put("base_model.model.transformer.h.0.mlp.c_fc.lora_A.default.weight",
                t.get("base_model.model.transformer.h.0.mlp.c_fc.lora_A.weight"))), "are both");
        expectError(good, d -> rewriteTensors(d, t -> t.get("base_model.model.transformer.h.0.mlp.c_proj.lora_B.weight").setFloat(5, Float.NaN)),
                "adapter_model.safetensors: tensor 'base_model.model.transformer.h.0.mlp.c_proj.lora_B.weight' holds NaN at element 5");
    }

    /** Copies {@code good}, breaks the copy, and checks that loading it fails with a one-line message and leaves the model plain. */
    private void expectError(Path good, Consumer<Path> breakIt, String message) throws IOException {
        Path dir = Files.createTempDirectory(tmp, "bad");
        for (String f : List.of("adapter_config.json", "adapter_model.safetensors")) Files.copy(good.resolve(f), dir.resolve(f));
        breakIt.accept(dir);
        try (GptNeoModel model = tiny().build(backend)) {
            List<String> names = List.copyOf(model.registry().names());
            float[] base = logits(model);
            assertThatThrownBy(() -> AdapterCheckpoint.load(model, dir)).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining(message).hasMessageNotContaining("\n");
            assertThat(model.registry().names()).containsExactlyElementsOf(names);
            assertThat(model.registry().trainable().size()).isEqualTo(names.size());
            assertThat(logits(model)).containsExactly(base);
        }
    }

    private static void edit(Path dir, Consumer<ObjectNode> change) {
        try {
            ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("adapter_config.json").toFile());
            change.accept(config);
            write(dir.resolve("adapter_config.json"), config.toString());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Reads the adapter's tensors into writable copies, lets {@code change} edit the map, and writes it back. */
    private static void rewriteTensors(Path dir, Consumer<Map<String, Tensor>> change) {
        Path file = dir.resolve("adapter_model.safetensors");
        try (Arena copies = Arena.ofConfined()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            try (SafeTensorsFile st = SafeTensorsFile.open(file)) {
                for (String n : st.names()) tensors.put(n, st.tensor(n).to(copies, st.tensor(n).dtype()));
            }
            change.accept(tensors);
            SafeTensorsWriter.write(file, tensors, Map.of("format", "pt"));
        }
    }

    private static void write(Path file, String text) {
        try {
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void deleteFile(Path file) {
        try {
            Files.delete(file);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
