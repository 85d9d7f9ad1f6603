package org.gptneo.autograd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.gptneo.backend.Backend;
import org.gptneo.backend.conformance.ReferenceBackend;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link Tape#checkpoint} computes what the plain run computes, bit for bit, while keeping less:
 * a chain of residual segments (LayerNorm, linear, gelu_new, dropout, linear, + input) under a
 * cross-entropy loss, run both ways on fresh parameters made from the same numbers.
 */
class TapeCheckpointTest {
    private static final int N = 6, C = 8, F = 16, V = 5, SEGMENTS = 3;
    private final Backend backend = new ReferenceBackend();
    private final Arena arena = Arena.ofShared();
    private final Random random = new Random(11);
    private final float[] input = randn(N * C);
    private final List<float[]> weights = new ArrayList<>();

    TapeCheckpointTest() {
        for (int s = 0; s < SEGMENTS; s++) {
            weights.add(randn(C));         // LayerNorm weight
            weights.add(randn(C));         // LayerNorm bias
            weights.add(randn(F * C));     // fc weight
            weights.add(randn(F));         // fc bias
            weights.add(randn(C * F));     // proj weight
        }
        weights.add(randn(V * C));         // head
    }

    @AfterEach
    void free() {
        arena.close();
    }

    /** One run: its loss, input gradient, parameter gradients (null where none) and the tape's byte counts. */
    private record Run(int[] loss, int[] inputGrad, List<int[]> grads, long peak, long allocated, long parameterGradients) {}

    private Run run(boolean checkpoint, boolean inputNeedsGrad, int frozen) {
        try (Arena grads = Arena.ofConfined(); Tape tape = new Tape(backend, true)) {
            List<Var> p = new ArrayList<>();
            for (float[] w : weights) p.add(Var.parameter(Tensor.of(arena, w, w.length), grads));
            if (frozen >= 0) p.get(frozen).setTrainable(false);
            Tensor x0 = Tensor.of(arena, input, N, C);
            Var x = inputNeedsGrad ? Var.parameter(x0, grads) : Var.constant(x0);
            Var h = x;
            for (int s = 0; s < SEGMENTS; s++) {
                Segment segment = segment(p.subList(5 * s, 5 * s + 5), 100 + s);
                h = checkpoint ? tape.checkpoint(segment, h) : segment.run(tape, h);
            }
            Var logits = tape.linear(h, reshaped(p.getLast(), V, C), null);                  // [N, V]
            Var loss = tape.crossEntropyMean(logits, Tensor.ofInts(arena, new int[] {0, 1, 2, 3, 4, 0}, N), -100);
            tape.backward(loss);
            List<int[]> g = new ArrayList<>();
            for (Var v : p) g.add(v.grad() == null ? null : bits(v.grad()));
            return new Run(bits(loss.value()), x.grad() == null ? null : bits(x.grad()), g,
                    tape.peakBytes(), tape.allocatedBytes(), tape.parameterGradientBytes());
        }
    }

    /** x [N, C] → x + proj(dropout(gelu(fc(layerNorm(x))))), the parameters captured. */
    private static Segment segment(List<Var> p, long dropoutSeed) {
        return (tape, x) -> {
            Var hidden = tape.geluNew(tape.linear(tape.layerNorm(x, p.get(0), p.get(1), 1e-5f),
                    reshaped(p.get(2), F, C), p.get(3)));                                      // [N, F]
            hidden = tape.dropout(hidden, 0.25f, dropoutSeed);
            return tape.add(x, tape.linear(hidden, reshaped(p.get(4), C, F), null));          // [N, C]
        };
    }

    /** The flat parameter as a matrix, sharing its gradient. */
    private static Var reshaped(Var flat, int rows, int cols) {
        return Var.view(flat, flat.value().reshape(rows, cols));
    }

    @Test
    void valuesAndEveryGradientEqualThePlainRunBitForBit() {
        Run plain = run(false, true, -1), checkpointed = run(true, true, -1);
        assertThat(checkpointed.loss()).containsExactly(plain.loss());
        assertThat(checkpointed.inputGrad()).containsExactly(plain.inputGrad());
        for (int i = 0; i < weights.size(); i++) {
            assertThat(plain.grads().get(i)).as("parameter %d has a gradient", i).isNotNull();
            assertThat(checkpointed.grads().get(i)).as("parameter %d", i).containsExactly(plain.grads().get(i));
        }
    }

    @Test
    void parametersInsideASegmentTrainWhenItsInputNeedsNoGradient() {
        Run plain = run(false, false, -1), checkpointed = run(true, false, -1);
        assertThat(checkpointed.inputGrad()).isNull();
        for (int i = 0; i < weights.size(); i++) {
            assertThat(checkpointed.grads().get(i)).as("parameter %d", i).containsExactly(plain.grads().get(i));
        }
    }

    @Test
    void aFrozenParameterGetsNoGradientBufferUnderCheckpointing() {
        int frozenFcWeight = 5 + 2;                      // the second segment's fc weight
        Run plain = run(false, true, frozenFcWeight), checkpointed = run(true, true, frozenFcWeight);
        assertThat(checkpointed.grads().get(frozenFcWeight)).isNull();
        for (int i = 0; i < weights.size(); i++) {
            if (i != frozenFcWeight) assertThat(checkpointed.grads().get(i)).as("parameter %d", i).containsExactly(plain.grads().get(i));
        }
        long frozenBytes = (long) F * C * Float.BYTES;
        assertThat(checkpointed.parameterGradients()).isEqualTo(plain.parameterGradients()).isEqualTo(parameterBytes() - frozenBytes);
    }

    @Test
    void checkpointingKeepsLessAndCountsParameterGradientsApart() {
        Run plain = run(false, true, -1), checkpointed = run(true, true, -1);
        assertThat(checkpointed.peak()).isLessThan(plain.peak());
        assertThat(checkpointed.allocated()).as("sub-tapes' bytes are theirs, not the outer tape's").isLessThan(plain.allocated());
        assertThat(plain.parameterGradients()).isEqualTo(parameterBytes());
        assertThat(checkpointed.parameterGradients()).isEqualTo(parameterBytes());
    }

    /** Bytes of every parameter's gradient, the input's included. */
    private long parameterBytes() {
        return (long) Float.BYTES * (input.length + weights.stream().mapToLong(w -> w.length).sum());
    }

    @Test
    void theMeterCountsEachAllocationAndThePeakOfLiveBytes() {
        try (Tape tape = new Tape(backend, true)) {
            tape.allocate(3, 4);
            tape.allocate(org.gptneo.tensor.DType.I32, 5);
            assertThat(tape.allocatedBytes()).isEqualTo(48 + 20);
            assertThat(tape.peakBytes()).isEqualTo(48 + 20);
            Var w = Var.parameter(Tensor.of(arena, new float[] {1, 2}, 2), arena);
            // the segment allocates 2 × 256 floats on its sub-tapes and gives back a 2-float sum
            Var out = tape.checkpoint((sub, x) -> {
                Var big = sub.add(Var.constant(sub.allocate(256)), Var.constant(sub.allocate(256)));
                return sub.add(x, Var.constant(big.value().reshape(256).slice(0, 0, 2)));
            }, w);
            long before = 48 + 20, pair = 2 * Float.BYTES, big = 3 * 256 * Float.BYTES;
            assertThat(tape.allocatedBytes()).as("only the output's copy stays").isEqualTo(before + pair);
            assertThat(tape.peakBytes()).as("outer bytes, the forward sub-tape's 3 × 256 floats and sum, the sum's copy")
                    .isEqualTo(before + big + pair + pair);
            tape.backward(tape.crossEntropyMean(tape.reshape(out, 1, 2), Tensor.ofInts(arena, new int[] {1}, 1), -100));
            long outer = before + pair + 4 + 4 + pair;            // + the output, the loss and its gradient, the output's gradient
            assertThat(tape.allocatedBytes()).isEqualTo(outer);
            assertThat(tape.peakBytes()).as("outer bytes, then the recompute: 3 × 256 floats, the sum and its seeded gradient")
                    .isEqualTo(outer + big + pair + pair);
            assertThat(w.grad()).isNotNull();
            assertThat(tape.parameterGradientBytes()).isEqualTo(pair);
        }
    }

    @Test
    void onATapeThatDoesNotRecordItIsThePlainRun() {
        try (Tape tape = new Tape(backend, false)) {
            Var x = Var.constant(Tensor.of(arena, new float[] {1, -2}, 2));
            Var out = tape.checkpoint((sub, in) -> {
                assertThat(sub).isSameAs(tape);
                return sub.geluNew(in);
            }, x);
            assertThat(out.requiresGrad()).isFalse();
        }
    }

    @Test
    void aSegmentThatReturnsItsInputPassesTheGradientThrough() {
        try (Tape tape = new Tape(backend, true)) {
            Var w = Var.parameter(Tensor.of(arena, new float[] {0.5f, -1f}, 1, 2), arena);
            Var same = tape.checkpoint((sub, x) -> sub.reshape(x, 1, 2), w);
            tape.backward(tape.crossEntropyMean(same, Tensor.ofInts(arena, new int[] {1}, 1), -100));
            float p1 = (float) (Math.exp(-1) / (Math.exp(0.5) + Math.exp(-1)));
            assertThat(w.grad().toFloatArray()).containsExactly(new float[] {1 - p1, p1 - 1}, within(1e-6f));
        }
    }

    private float[] randn(int size) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) v[i] = (float) random.nextGaussian();
        return v;
    }

    private static int[] bits(Tensor t) {
        float[] f = t.toFloatArray();
        int[] out = new int[f.length];
        for (int i = 0; i < f.length; i++) out[i] = Float.floatToRawIntBits(f[i]);
        return out;
    }
}
