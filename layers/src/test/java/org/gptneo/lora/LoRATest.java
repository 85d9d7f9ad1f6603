package org.gptneo.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoModel;
import org.gptneo.nn.AdamW;
import org.gptneo.nn.Parameter;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * LoRA on a tiny model: the configuration's defaults and errors, what attaching does to the
 * model (names, shapes, PEFT's initialisation, frozen base, unchanged output while B = 0), that
 * training touches only A and B, dropout only in training passes, and that merge, remove and close
 * give back a plain model. Numerical parity with the reference is AdapterCheckpointParityTest (api).
 */
class LoRATest {
    private final Backend backend = new CpuBackend();
    private final Arena arena = Arena.ofShared();

    @AfterEach
    void close() {
        arena.close();
        backend.close();
    }

    private GptNeoModel tiny() {
        return GptNeoBuilder.create().vocabSize(40).contextLength(16).hiddenSize(8).layers(2).heads(2).intermediateSize(12)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(4).dropout(0f).seed(3).build(backend);
    }

    private Tensor ids() {
        return backend.upload(Tensor.ofInts(arena, new int[] {1, 5, 9, 13, 17, 21, 25, 29, 2, 6, 10, 14, 18, 22, 26, 30}, 2, 8), arena);
    }

    private float[] logits(GptNeoModel model, boolean training) {
        try (Tape tape = new Tape(backend, false)) {
            return model.forward(tape, ids(), training).value().toFloatArray();
        }
    }

    @Test
    void defaultsFollowPeft() {
        LoRA lora = LoRA.rank(8);
        assertThat(lora.alpha()).isEqualTo(8f);
        assertThat(lora.dropout()).isZero();
        assertThat(lora.targets()).containsExactly("q_proj", "v_proj");
        assertThat(LoRA.rank(8).alpha(16).scaling()).isEqualTo(2f);
        assertThat(LoRA.rank(4).targets("c_fc", "q_proj", "c_fc").targets()).containsExactly("c_fc", "q_proj");
        assertThat(LoRA.rank(4).seed(7)).isEqualTo(LoRA.rank(4).seed(7)).isNotEqualTo(LoRA.rank(4).seed(8));
    }

    @Test
    void invalidSettingsAreOneLineErrors() {
        assertThatThrownBy(() -> LoRA.rank(4).targets("q_proj", "qkv"))
                .hasMessage("unknown LoRA target module 'qkv'; GPT-Neo's are [q_proj, k_proj, v_proj, out_proj, c_fc, c_proj]");
        assertThatThrownBy(() -> LoRA.rank(4).targets(new String[0])).hasMessageContaining("at least one target module");
        assertThatThrownBy(() -> LoRA.rank(0)).hasMessage("LoRA rank must be at least 1, got 0");
        assertThatThrownBy(() -> LoRA.rank(4).dropout(1f)).hasMessage("LoRA dropout must lie in [0, 1), got 1.0");
        assertThatThrownBy(() -> LoRA.rank(4).alpha(Float.NaN)).hasMessageContaining("alpha must be a positive finite number");
    }

    @Test
    void attachingWrapsTheTargetsFreezesTheBaseAndChangesNothingWhileBIsZero() {
        try (GptNeoModel model = tiny()) {
            float[] before = logits(model, false);
            List<String> baseNames = List.copyOf(model.registry().names());
            try (LoraAdapter adapter = LoRA.rank(3).alpha(6).targets("q_proj", "c_fc").seed(11).apply(model)) {
                assertThat(adapter.parameters().keySet()).containsExactly(
                        "base_model.model.transformer.h.0.attn.attention.q_proj.lora_A.weight",
                        "base_model.model.transformer.h.0.attn.attention.q_proj.lora_B.weight",
                        "base_model.model.transformer.h.0.mlp.c_fc.lora_A.weight",
                        "base_model.model.transformer.h.0.mlp.c_fc.lora_B.weight",
                        "base_model.model.transformer.h.1.attn.attention.q_proj.lora_A.weight",
                        "base_model.model.transformer.h.1.attn.attention.q_proj.lora_B.weight",
                        "base_model.model.transformer.h.1.mlp.c_fc.lora_A.weight",
                        "base_model.model.transformer.h.1.mlp.c_fc.lora_B.weight");
                Map<String, Var> p = adapter.parameters();
                assertThat(p.get("base_model.model.transformer.h.0.mlp.c_fc.lora_A.weight").shape()).containsExactly(3, 8);
                assertThat(p.get("base_model.model.transformer.h.0.mlp.c_fc.lora_B.weight").shape()).containsExactly(12, 3);
                float[] a = p.get("base_model.model.transformer.h.1.attn.attention.q_proj.lora_A.weight").value().toFloatArray();
                float bound = (float) (1 / Math.sqrt(8));
                assertThat(max(a)).isLessThanOrEqualTo(bound);
                assertThat(max(a)).isGreaterThan(bound / 2);                        // drawn, not zero
                assertThat(p.get("base_model.model.transformer.h.1.mlp.c_fc.lora_B.weight").value().toFloatArray()).containsOnly(0f);

                assertThat(model.registry().trainable().names()).containsExactlyElementsOf(
                        p.keySet().stream().map(n -> n.substring(LoraAdapter.PEFT_PREFIX.length())).toList());
                assertThat(model.registry().names()).containsAll(baseNames).hasSize(baseNames.size() + 8);
                assertThat(logits(model, false)).containsExactly(before);          // base + scaling·B·A·x with B = 0
                assertThatThrownBy(() -> LoRA.rank(2).apply(model)).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("already carries a LoRA adapter");
            }
            assertThat(model.registry().names()).containsExactlyElementsOf(baseNames);   // close detached it
            assertThat(model.registry().trainable().size()).isEqualTo(baseNames.size());
        }
    }

    @Test
    void theSeedDecidesA() {
        try (GptNeoModel model = tiny()) {
            float[] first, again, other;
            try (LoraAdapter a = LoRA.rank(2).seed(5).apply(model)) {
                first = a.parameters().values().iterator().next().value().toFloatArray();
            }
            try (LoraAdapter a = LoRA.rank(2).seed(5).apply(model)) {
                again = a.parameters().values().iterator().next().value().toFloatArray();
            }
            try (LoraAdapter a = LoRA.rank(2).seed(6).apply(model)) {
                other = a.parameters().values().iterator().next().value().toFloatArray();
            }
            assertThat(again).containsExactly(first);
            assertThat(other).isNotEqualTo(first);
        }
    }

    @Test
    void trainingMovesOnlyTheAdapterAndTheBaseGetsNoGradientMemory() {
        try (GptNeoModel model = tiny(); LoraAdapter adapter = LoRA.rank(2).alpha(4).targets("v_proj", "c_proj").apply(model)) {
            Map<String, float[]> base = new java.util.LinkedHashMap<>();
            model.registry().all().forEach(p -> base.put(p.name(), p.value().toFloatArray()));
            List<Float> losses = new ArrayList<>();
            try (AdamW adamW = new AdamW(backend, model.registry().trainable().asVars(), AdamW.Settings.defaults().withLr(0.05f))) {
                for (int step = 0; step < 5; step++) {
                    try (Tape tape = new Tape(backend, true)) {
                        model.zeroGrad();
                        Var loss = model.loss(tape, model.forward(tape, ids(), false), ids());
                        tape.backward(loss);
                        adamW.step();
                        losses.add(loss.value().getFloat(0));
                    }
                }
            }
            assertThat(losses.getLast()).isLessThan(losses.getFirst());
            for (Parameter p : model.registry().all()) {
                boolean lora = p.name().contains(".lora_");
                assertThat(p.grad() != null).as("gradient of %s", p.name()).isEqualTo(lora);
                if (!lora) assertThat(p.value().toFloatArray()).as(p.name()).containsExactly(base.get(p.name()));
                else if (p.name().endsWith("lora_B.weight")) assertThat(max(p.value().toFloatArray())).as(p.name()).isPositive();
            }
        }
    }

    @Test
    void dropoutAppliesInTrainingPassesOnly() {
        try (GptNeoModel model = tiny(); LoraAdapter adapter = LoRA.rank(2).dropout(0.5f).apply(model)) {
            adapter.parameters().forEach((name, v) -> {
                if (name.endsWith("lora_B.weight")) v.value().copyFrom(filled(v.value().size(), 0.3f));
            });
            float[] eval = logits(model, false);
            assertThat(logits(model, false)).containsExactly(eval);
            assertThat(logits(model, true)).isNotEqualTo(eval);          // the model's own dropouts are 0: only LoRA's
        }
    }

    @Test
    void mergeFoldsTheAdapterIntoTheWeightsAndRestoresTrainability() {
        try (GptNeoModel model = tiny()) {
            model.registry().freeze(n -> n.startsWith("transformer.wpe"));
            List<String> baseNames = List.copyOf(model.registry().names());
            LoraAdapter adapter = LoRA.rank(2).alpha(3).targets("q_proj", "k_proj", "v_proj", "out_proj", "c_fc", "c_proj").apply(model);
            adapter.parameters().forEach((name, v) -> {
                if (name.endsWith("lora_B.weight")) v.value().copyFrom(filled(v.value().size(), -0.2f));
            });
            float[] unmerged = logits(model, false);
            adapter.merge();
            float[] merged = logits(model, false);
            assertThat(relativeError(merged, unmerged)).isLessThan(1e-5);
            assertThat(adapter.isAttached()).isFalse();
            assertThat(model.registry().names()).containsExactlyElementsOf(baseNames);
            assertThat(model.registry().trainable().names()).hasSize(baseNames.size() - 1).doesNotContain("transformer.wpe.weight");
            assertThatThrownBy(adapter::merge).hasMessageContaining("no longer attached");
            adapter.close();
            assertThat(logits(model, false)).containsExactly(merged);     // merged weights belong to the model
            assertThatThrownBy(adapter::parameters).hasMessage("the LoRA adapter is closed");
        }
    }

    @Test
    void removeGivesBackTheBaseModel() {
        try (GptNeoModel model = tiny(); LoraAdapter adapter = LoRA.rank(2).apply(model)) {
            float[] base = logits(model, false);
            adapter.parameters().forEach((name, v) -> {
                if (name.endsWith("lora_B.weight")) v.value().copyFrom(filled(v.value().size(), 0.5f));
            });
            assertThat(logits(model, false)).isNotEqualTo(base);
            adapter.remove();
            assertThat(logits(model, false)).containsExactly(base);
            assertThat(model.registry().names()).noneMatch(n -> n.contains("lora_"));
        }
    }

    private static float[] filled(long n, float v) {
        float[] out = new float[Math.toIntExact(n)];
        java.util.Arrays.fill(out, v);
        return out;
    }

    private static float max(float[] xs) {
        float m = 0;
        for (float x : xs) m = Math.max(m, Math.abs(x));
        return m;
    }

    private static double relativeError(float[] actual, float[] expected) {
        double diff = 0, ref = 0;
        for (int i = 0; i < expected.length; i++) {
            diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
            ref = Math.max(ref, Math.abs(expected[i]));
        }
        return diff / ref;
    }
}
