package org.gptneo.autograd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.Backend;
import org.gptneo.backend.conformance.ReferenceBackend;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Every autograd op's gradient against central finite differences of L = Σ w ⊙ op(inputs) for a
 * fixed random w. Float32 with step 1e-2 gives about 1e-4 relative accuracy; we allow 2e-3
 * (max-abs-difference over max-abs-gradient).
 */
class TapeGradientCheckTest {
    private static final float STEP = 1e-2f;
    private static final double TOLERANCE = 2e-3;
    private final Backend backend = new ReferenceBackend();
    private final Arena arena = Arena.ofShared();
    private final Random random = new Random(7);

    @AfterEach
    void free() {
        arena.close();
    }

    @Test
    void add() {
        check(in -> tape(in).add(in.get(0), in.get(1)), randn(3, 4), randn(3, 4));
    }

    @Test
    void linearWithAndWithoutBias() {
        check(in -> tape(in).linear(in.get(0), in.get(1), in.get(2)), randn(5, 3), randn(4, 3), randn(4));
        check(in -> tape(in).linear(in.get(0), in.get(1), null), randn(2, 6), randn(3, 6));
    }

    @Test
    void batchedMatmulInEveryTransposeCombination() {
        check(in -> tape(in).matmul(in.get(0), false, in.get(1), false), randn(2, 3, 4), randn(2, 4, 5));
        check(in -> tape(in).matmul(in.get(0), true, in.get(1), false), randn(2, 4, 3), randn(2, 4, 5));
        check(in -> tape(in).matmul(in.get(0), false, in.get(1), true), randn(2, 3, 4), randn(2, 5, 4));
        check(in -> tape(in).matmul(in.get(0), true, in.get(1), true), randn(2, 4, 3), randn(2, 5, 4));
    }

    @Test
    void swapMiddleAndReshape() {
        check(in -> tape(in).swapMiddle(tape(in).reshape(in.get(0), 2, 3, 2, 2)), randn(6, 4));
    }

    @Test
    void layerNorm() {
        check(in -> tape(in).layerNorm(in.get(0), in.get(1), in.get(2), 1e-5f), randn(4, 6), randn(6), randn(6));
    }

    @Test
    void geluNew() {
        check(in -> tape(in).geluNew(in.get(0)), randn(3, 7));
    }

    @Test
    void maskedSoftmaxGlobalAndLocal() {
        check(in -> tape(in).maskedSoftmax(in.get(0), AttentionMask.GLOBAL), randn(2, 5, 5));
        check(in -> tape(in).maskedSoftmax(in.get(0), AttentionMask.local(2)), randn(2, 5, 5));
        check(in -> tape(in).maskedSoftmax(in.get(0), AttentionMask.local(3)), randn(1, 2, 6)); // cached keys: T < S
    }

    @Test
    void expAndSoftmaxOverTheLastDimension() {
        check(in -> tape(in).exp(in.get(0)), randn(3, 5));
        check(in -> tape(in).softmax(in.get(0)), randn(2, 3, 6));
    }

    @Test
    void rotaryPositionsAndScaling() {
        Tensor positions = Tensor.ofInts(arena, new int[] {0, 5, 2, 9, 1, 300}, 6);
        check(in -> tape(in).rotary(in.get(0), positions, 10000f), randn(2, 2, 3, 4));   // [B, H, T, hs], positions [B·T]
        check(in -> tape(in).scale(in.get(0), -0.5f), randn(3, 4));
    }

    @Test
    void maskedSoftmaxBidirectional() {
        check(in -> tape(in).maskedSoftmax(in.get(0), AttentionMask.GLOBAL.bidirectional()), randn(2, 5, 5));
        check(in -> tape(in).maskedSoftmax(in.get(0), AttentionMask.local(2).bidirectional()), randn(2, 5, 5));
    }

    @Test
    void embeddingWithRepeatedIds() {
        Tensor ids = Tensor.ofInts(arena, new int[] {1, 3, 1, 0, 3, 3}, 2, 3);
        check(in -> tape(in).embedding(in.get(0), ids), randn(5, 4));
    }

    @Test
    void dropoutUsesOneMaskForwardAndBackward() {
        check(in -> tape(in).dropout(in.get(0), 0.3f, 11), randn(4, 8));
    }

    @Test
    void crossEntropyMeanSkipsIgnoredTargets() {
        Tensor targets = Tensor.ofInts(arena, new int[] {2, -100, 0, 4}, 4);
        check(in -> tape(in).crossEntropyMean(in.get(0), targets, -100), randn(4, 5));
    }

    @Test
    void reluAwayFromItsKink() {
        Tensor x = randn(3, 7);
        for (long i = 0; i < x.size(); i++) x.setFloat(i, x.getFloat(i) + Math.copySign(0.05f, x.getFloat(i)));
        check(in -> tape(in).relu(in.get(0)), x);
    }

    @Test
    void gatherRowsWithRepeatedRows() {
        Tensor rows = Tensor.ofInts(arena, new int[] {4, 0, 4, 2}, 4);
        check(in -> tape(in).gatherRows(in.get(0), rows), randn(5, 3));
    }

    @Test
    void concatRowsHandsEachPartItsSlice() {
        check(in -> tape(in).concatRows(List.of(in.get(0), in.get(1), in.get(2))), randn(2, 3), randn(1, 3), randn(4, 3));
    }

    @Test
    void scatterAddRowsIntoSourceAndWeights() {
        Tensor rows = Tensor.ofInts(arena, new int[] {1, 3, 1, 0, 3}, 5);
        check(in -> tape(in).scatterAddRows(in.get(0), in.get(1), rows, 4), randn(5, 3), randn(5));
    }

    @Test
    void normalizeRowsOfPositiveWeights() {
        Tensor x = randn(4, 2);
        for (long i = 0; i < x.size(); i++) x.setFloat(i, 0.3f + 0.5f * Math.abs(x.getFloat(i)));
        check(in -> tape(in).normalizeRows(in.get(0), 1e-9f), x);
    }

    @Test
    void backwardNeedsARecordingTapeAndAScalarLoss() {
        try (Tape inference = new Tape(backend, false)) {
            Var x = Var.parameter(randn(2), arena);
            Var y = inference.geluNew(x);
            assertThat(y.requiresGrad()).isFalse();
            assertThatThrownBy(() -> inference.backward(y)).hasMessageContaining("inference");
        }
        try (Tape tape = new Tape(backend, true)) {
            Var y = tape.geluNew(Var.parameter(randn(2), arena));
            assertThatThrownBy(() -> tape.backward(y)).hasMessageContaining("one-element loss");
        }
    }

    // ---- harness -----------------------------------------------------------------------------

    private Tape current;

    private Tape tape(List<Var> ignored) {
        return current;
    }

    /** Compares the tape's gradient of every input with central differences of the weighted sum. */
    private void check(Function<List<Var>, Var> op, Tensor... inputs) {
        Tensor weights = null;
        List<Var> vars = java.util.Arrays.stream(inputs).map(t -> Var.parameter(t, arena)).toList();
        try (Tape tape = new Tape(backend, true)) {
            current = tape;
            Var out = op.apply(vars);
            weights = randn(out.shape());
            Var loss = weightedSum(tape, out, weights);
            tape.backward(loss);
        }
        for (int i = 0; i < inputs.length; i++) {
            Tensor x = inputs[i];
            float[] numeric = new float[Math.toIntExact(x.size())];
            for (int j = 0; j < numeric.length; j++) {
                float saved = x.getFloat(j);
                x.setFloat(j, saved + STEP);
                double plus = evaluate(op, vars, weights);
                x.setFloat(j, saved - STEP);
                double minus = evaluate(op, vars, weights);
                x.setFloat(j, saved);
                numeric[j] = (float) ((plus - minus) / (2 * STEP));
            }
            float[] analytic = vars.get(i).grad().toFloatArray();
            double maxDiff = 0, maxRef = 0;
            for (int j = 0; j < numeric.length; j++) {
                maxDiff = Math.max(maxDiff, Math.abs(analytic[j] - numeric[j]));
                maxRef = Math.max(maxRef, Math.abs(numeric[j]));
            }
            assertThat(maxRef).as("input %d has a non-trivial gradient", i).isGreaterThan(1e-3);
            assertThat(maxDiff / maxRef).as("relative gradient error of input %d", i).isLessThan(TOLERANCE);
            vars.get(i).zeroGrad(backend);
        }
    }

    private double evaluate(Function<List<Var>, Var> op, List<Var> vars, Tensor weights) {
        try (Tape tape = new Tape(backend, false)) {
            current = tape;
            Tensor out = op.apply(vars).value();
            double sum = 0;
            for (long k = 0; k < out.size(); k++) sum += (double) out.getFloat(k) * weights.getFloat(k);
            return sum;
        }
    }

    /** L = Σ out ⊙ w, built from tape ops: a [1, n]·[n, 1] product. */
    private static Var weightedSum(Tape tape, Var out, Tensor weights) {
        int n = Math.toIntExact(out.value().size());
        Var flat = tape.reshape(out, 1, 1, n);
        Var w = Var.constant(weights.reshape(1, n, 1));
        return tape.reshape(tape.matmul(flat, false, w, false), 1);
    }

    private Tensor randn(int... shape) {
        Tensor t = Tensor.allocate(arena, org.gptneo.tensor.DType.F32, shape);
        for (long i = 0; i < t.size(); i++) t.setFloat(i, (float) random.nextGaussian());
        return t;
    }
}
