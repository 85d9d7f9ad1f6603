package org.gptneo.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.backend.conformance.ReferenceBackend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link GptNeoModel#forward(Tape, Tensor, TrainingPass)}: dropout masks from the pass's seed alone,
 * and blocks under activation checkpointing computing what the plain pass computes, bit for bit,
 * with a smaller activation peak; inference and the KV cache untouched.
 */
class ActivationCheckpointingTest {
    private static final int[] IDS = {5, 9, 2, 7, 1, 4, 8, 3, 30, 12, 0, 17, 6, 22};   // B = 2, T = 7
    private final Arena arena = Arena.ofShared();

    @AfterEach
    void free() {
        arena.close();
    }

    private static GptNeoBuilder tiny() {
        return GptNeoBuilder.create().vocabSize(32).contextLength(16).hiddenSize(8).layers(4).heads(2)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(3).dropout(0.2f)
                .initializerRange(0.5f).seed(3);
    }

    /** One training step's results as raw float bits, and the tape's byte counts. */
    private record Step(int[] logits, int[] loss, Map<String, int[]> grads, long peak, long parameterGradients) {}

    private Step step(Backend backend, TrainingPass pass, Consumer<GptNeoModel> prepare) {
        try (GptNeoModel model = tiny().build(backend); Tape tape = new Tape(backend, true)) {
            prepare.accept(model);
            Tensor ids = Tensor.ofInts(arena, IDS, 2, IDS.length / 2);
            Var logits = model.forward(tape, ids, pass);
            Var loss = model.loss(tape, logits, ids);
            tape.backward(loss);
            Map<String, int[]> grads = new LinkedHashMap<>();
            model.parameters().forEach((name, p) -> grads.put(name, p.grad() == null ? null : bits(p.grad())));
            return new Step(bits(logits.value()), bits(loss.value()), grads, tape.peakBytes(), tape.parameterGradientBytes());
        }
    }

    private static void assertSameBits(Step checkpointed, Step plain) {
        assertThat(checkpointed.logits()).containsExactly(plain.logits());
        assertThat(checkpointed.loss()).containsExactly(plain.loss());
        assertThat(checkpointed.grads().keySet()).containsExactlyElementsOf(plain.grads().keySet());
        plain.grads().forEach((name, g) -> assertThat(checkpointed.grads().get(name)).as(name).isEqualTo(g));
    }

    @Test
    void checkpointedBlocksGiveTheSameLogitsLossAndGradientsBitForBit() {
        try (CpuBackend cpu = new CpuBackend(2)) {
            for (Backend backend : new Backend[] {new ReferenceBackend(), cpu}) {
                Step plain = step(backend, new TrainingPass(42, false), m -> {});
                Step checkpointed = step(backend, new TrainingPass(42, true), m -> {});
                plain.grads().forEach((name, g) -> assertThat(g).as("%s on %s has a gradient", name, backend.name()).isNotNull());
                assertSameBits(checkpointed, plain);
            }
        }
    }

    @Test
    void frozenParametersGetNoGradientUnderCheckpointing() {
        Backend backend = new ReferenceBackend();
        // frozen embeddings: the blocks' input needs no gradient, their own parameters still do
        Consumer<GptNeoModel> freeze = m -> m.registry().freeze(name -> name.startsWith("transformer.w")
                || name.equals("transformer.h.2.attn.attention.q_proj.weight"));
        Step plain = step(backend, new TrainingPass(7, false), freeze);
        Step checkpointed = step(backend, new TrainingPass(7, true), freeze);
        assertSameBits(checkpointed, plain);
        for (String frozen : new String[] {"transformer.wte.weight", "transformer.wpe.weight", "transformer.h.2.attn.attention.q_proj.weight"}) {
            assertThat(checkpointed.grads().get(frozen)).as(frozen).isNull();
        }
        assertThat(checkpointed.grads().get("transformer.h.0.ln_1.weight")).isNotNull();
        assertThat(checkpointed.parameterGradients()).isEqualTo(plain.parameterGradients());
    }

    @Test
    void checkpointingLowersThePeakAndLeavesParameterGradientsAlone() {
        Backend backend = new ReferenceBackend();
        Step plain = step(backend, new TrainingPass(1, false), m -> {});
        Step checkpointed = step(backend, new TrainingPass(1, true), m -> {});
        assertThat(checkpointed.peak()).isLessThan(plain.peak());
        long parameterBytes;
        try (GptNeoModel model = tiny().build(backend)) {
            parameterBytes = model.parameterCount() * Float.BYTES;
        }
        assertThat(plain.parameterGradients()).isEqualTo(parameterBytes);
        assertThat(checkpointed.parameterGradients()).isEqualTo(parameterBytes);
    }

    @Test
    void dropoutMasksDependOnlyOnThePassSeed() {
        Backend backend = new ReferenceBackend();
        Tensor ids = Tensor.ofInts(arena, IDS, 2, IDS.length / 2);
        try (GptNeoModel first = tiny().build(backend); GptNeoModel second = tiny().build(backend)) {
            int[] seeded = logits(first, ids, new TrainingPass(42, false));
            for (int i = 0; i < 3; i++) logits(first, ids, true);           // advances the model's own seed counter
            assertThat(logits(first, ids, new TrainingPass(42, false))).containsExactly(seeded);
            assertThat(logits(second, ids, new TrainingPass(42, true))).as("another model, checkpointed").containsExactly(seeded);
            assertThat(logits(first, ids, new TrainingPass(43, false))).isNotEqualTo(seeded);
            assertThat(logits(first, ids, false)).as("dropout is on in a training pass").isNotEqualTo(seeded);
        }
    }

    @Test
    void aStepsPassDependsOnlyOnTheRunSeedAndTheStep() {
        assertThat(TrainingPass.forStep(9, 5, true)).isEqualTo(TrainingPass.forStep(9, 5, true));
        assertThat(TrainingPass.forStep(9, 5, false).dropoutSeed()).isEqualTo(TrainingPass.forStep(9, 5, true).dropoutSeed());
        assertThat(TrainingPass.forStep(9, 6, false).dropoutSeed()).isNotEqualTo(TrainingPass.forStep(9, 5, false).dropoutSeed());
        assertThat(TrainingPass.forStep(10, 5, false).dropoutSeed()).as("seed + step is not a function of their sum")
                .isNotEqualTo(TrainingPass.forStep(9, 6, false).dropoutSeed());
        assertThatThrownBy(() -> TrainingPass.forStep(9, -1, false)).hasMessage("training step must be 0 or more, got -1");
    }

    @Test
    void inferenceAndTheKvCacheAreUnaffectedByCheckpointedSteps() {
        try (CpuBackend backend = new CpuBackend(2)) {
            assertThat(decode(backend, true)).isDeepEqualTo(decode(backend, false));
        }
        Backend backend = new ReferenceBackend();
        Tensor ids = Tensor.ofInts(arena, IDS, 2, IDS.length / 2);
        try (GptNeoModel model = tiny().dropout(0f).build(backend)) {
            assertThat(logits(model, ids, new TrainingPass(5, true))).as("no dropout: a checkpointed pass is the inference pass")
                    .containsExactly(logits(model, ids, false));
        }
    }

    /** The cached logits [V] of six tokens fed one at a time; optionally a checkpointed training step after each. */
    private int[][] decode(Backend backend, boolean trainBetweenTokens) {
        try (GptNeoModel model = tiny().build(backend); KvCache cache = new KvCache(model, 1, null)) {
            int[][] out = new int[6][];
            for (int i = 0; i < out.length; i++) {
                try (Tape tape = new Tape(backend, false)) {
                    out[i] = bits(model.forwardCached(tape, Tensor.ofInts(arena, new int[] {IDS[i]}, 1, 1),
                            Tensor.ofInts(arena, new int[] {i}, 1, 1), cache));
                }
                if (trainBetweenTokens) {
                    try (Tape tape = new Tape(backend, true)) {
                        Tensor ids = Tensor.ofInts(arena, IDS, 2, IDS.length / 2);
                        tape.backward(model.loss(tape, model.forward(tape, ids, new TrainingPass(i, true)), ids));
                    }
                }
            }
            return out;
        }
    }

    private int[] logits(GptNeoModel model, Tensor ids, TrainingPass pass) {
        try (Tape tape = new Tape(model.backend(), true)) {
            return bits(model.forward(tape, ids, pass).value());
        }
    }

    private int[] logits(GptNeoModel model, Tensor ids, boolean training) {
        try (Tape tape = new Tape(model.backend(), false)) {
            return bits(model.forward(tape, ids, training).value());
        }
    }

    private static int[] bits(Tensor t) {
        float[] f = t.toFloatArray();
        int[] out = new int[f.length];
        for (int i = 0; i < f.length; i++) out[i] = Float.floatToRawIntBits(f[i]);
        return out;
    }
}
