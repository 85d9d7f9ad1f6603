package org.gptneo.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.Random;
import java.util.function.DoubleSupplier;
import java.util.stream.Stream;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.Backend;
import org.gptneo.backend.conformance.ReferenceBackend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every backward kernel against central finite differences of its forward kernel, on both the CPU
 * backend and the reference. The scalar is a random projection L = Σ w·out of the forward output
 * (summed in double), so dOut = w, and the analytic gradient must equal ∂L/∂input.
 *
 * <p>Step and tolerance: the forward kernels run in float32, so L carries a rounding error of about
 * 1e-7·|L| (|L| ≲ 10 here) that the difference quotient divides by 2h; with h = 1e-2 that is ≲ 1e-4,
 * and the truncation error of the central difference, O(h²·f‴), is of the same order. A relative
 * tolerance of 1e-2 (max-abs-error / max-abs-gradient) leaves a wide margin for both while any wrong
 * or missing term of a gradient gives an O(1) error.
 *
 * <p>Every gradient starts at {@link #PREFILL}, not zero: backward kernels add into their outputs.
 */
class BackwardKernelGradientTest {
    private static final float H = 1e-2f;
    private static final double TOLERANCE = 1e-2;
    private static final float PREFILL = 0.375f;

    private final Arena arena = Arena.ofShared();
    private final Random random = new Random(7_340_033);

    @AfterEach
    void closeArena() {
        arena.close();
    }

    static Stream<Named<Backend>> backends() {
        return Stream.of(new CpuBackend(), new ReferenceBackend()).map(b -> Named.of(b.name(), b));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void layerNormBackwardGivesTheGradientsOfLayerNorm(Backend backend) {
        int rows = 3, c = 7;
        Tensor x = random(rows, c), gamma = random(c), beta = random(c), w = random(rows, c);
        Tensor out = zeros(rows, c), mean = zeros(rows), rstd = zeros(rows);
        DoubleSupplier loss = () -> {
            backend.layerNorm(x, gamma, beta, 1e-5f, out, mean, rstd);
            return dot(w, out);
        };
        double[] numericX = numericGradient(x, loss), numericGamma = numericGradient(gamma, loss);
        double[] numericBeta = numericGradient(beta, loss);

        backend.layerNorm(x, gamma, beta, 1e-5f, out, mean, rstd);
        Tensor dx = prefilled(rows, c), dGamma = prefilled(c), dBeta = prefilled(c);
        backend.layerNormBackward(w, x, gamma, mean, rstd, dx, dGamma, dBeta);
        assertGradient(dx, numericX, "layerNorm dx");
        assertGradient(dGamma, numericGamma, "layerNorm dGamma");
        assertGradient(dBeta, numericBeta, "layerNorm dBeta");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void geluNewBackwardGivesTheDerivativeOfGelu(Backend backend) {
        Tensor x = random(40), w = random(40), out = zeros(40);
        backend.scale(x, 2f);
        double[] numeric = numericGradient(x, () -> {
            backend.geluNew(x, out);
            return dot(w, out);
        });
        Tensor dx = prefilled(40);
        backend.geluNewBackward(x, w, dx);
        assertGradient(dx, numeric, "gelu dx");
    }

    static Stream<Arguments> softmaxCases() {
        return backends().flatMap(b -> Stream.of(
                Arguments.of(b, AttentionMask.GLOBAL), Arguments.of(b, AttentionMask.local(2))));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("softmaxCases")
    void softmaxBackwardGivesTheGradientOfTheMaskedSoftmax(Backend backend, AttentionMask mask) {
        int[] shape = {2, 3, 5}; // T = 3 queries against S = 5 keys, two of them cached
        Tensor scores = random(shape), w = random(shape), probs = zeros(shape);
        double[] numeric = numericGradient(scores, () -> {
            backend.maskedSoftmax(scores, mask, probs);
            return dot(w, probs);
        });
        backend.maskedSoftmax(scores, mask, probs);
        Tensor dScores = prefilled(shape);
        backend.softmaxBackward(probs, w, dScores);
        assertGradient(dScores, numeric, "softmax dScores");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void embeddingBackwardScattersTheGradientOfTheLookup(Backend backend) {
        Tensor table = random(6, 5), w = random(7, 5), out = zeros(7, 5);
        Tensor ids = Tensor.ofInts(arena, new int[] {3, 0, 3, 5, 1, 3, 0}, 7); // repeats, and row 2, 4 unused
        double[] numeric = numericGradient(table, () -> {
            backend.embedding(table, ids, out);
            return dot(w, out);
        });
        Tensor dTable = prefilled(6, 5);
        backend.embeddingBackward(ids, w, dTable);
        assertGradient(dTable, numeric, "embedding dTable");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void crossEntropyBackwardGivesTheGradientOfTheScaledLossSum(Backend backend) {
        int n = 4, v = 6, ignore = -100;
        float scale = 1f / 3;
        Tensor logits = random(n, v), losses = zeros(n);
        backend.scale(logits, 2f);
        Tensor targets = Tensor.ofInts(arena, new int[] {2, ignore, 5, 0}, n);
        double[] numeric = numericGradient(logits, () -> {
            backend.crossEntropy(logits, targets, ignore, losses);
            double total = 0;
            for (float loss : losses.toFloatArray()) total += scale * (double) loss;
            return total;
        });
        Tensor dLogits = prefilled(n, v);
        backend.crossEntropyBackward(logits, targets, ignore, scale, dLogits);
        assertGradient(dLogits, numeric, "cross entropy dLogits");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void addBiasBackwardSumsTheRows(Backend backend) {
        Tensor x = random(5, 4), bias = random(4), w = random(5, 4), out = zeros(5, 4);
        double[] numeric = numericGradient(bias, () -> {
            backend.copy(x, out);
            backend.addBias(out, bias);
            return dot(w, out);
        });
        Tensor dBias = prefilled(4);
        backend.addBiasBackward(w, dBias);
        assertGradient(dBias, numeric, "bias dBias");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void swapMiddleIsItsOwnAdjoint(Backend backend) {
        Tensor x = random(2, 3, 4, 5), w = random(2, 4, 3, 5), out = zeros(2, 4, 3, 5);
        double[] numeric = numericGradient(x, () -> {
            backend.swapMiddle(x, out, false);
            return dot(w, out);
        });
        Tensor dx = prefilled(2, 3, 4, 5);
        backend.swapMiddle(w, dx, true);
        assertGradient(dx, numeric, "swapMiddle dx");
    }

    static Stream<Arguments> matmulCases() {
        return backends().flatMap(b -> Stream.of(
                Arguments.of(b, false, false), Arguments.of(b, false, true),
                Arguments.of(b, true, false), Arguments.of(b, true, true)));
    }

    /**
     * C = op(A)·op(B) with dC = W gives dA = W·op(B)ᵀ (stored transposed when A is: op(B)·Wᵀ) and
     * dB = op(A)ᵀ·W (or Wᵀ·op(A)); the backward products accumulate with beta = 1.
     */
    @ParameterizedTest(name = "{0} transposeA={1} transposeB={2}")
    @MethodSource("matmulCases")
    void matmulTransposesGiveItsGradients(Backend backend, boolean ta, boolean tb) {
        int m = 3, k = 5, n = 4;
        Tensor a = ta ? random(k, m) : random(m, k), b = tb ? random(n, k) : random(k, n);
        Tensor w = random(m, n), c = zeros(m, n);
        DoubleSupplier loss = () -> {
            backend.matmul(a, ta, b, tb, c, 1f, 0f);
            return dot(w, c);
        };
        double[] numericA = numericGradient(a, loss), numericB = numericGradient(b, loss);

        Tensor dA = prefilled(a.shape()), dB = prefilled(b.shape());
        if (ta) backend.matmul(b, tb, w, true, dA, 1f, 1f);
        else backend.matmul(w, false, b, !tb, dA, 1f, 1f);
        if (tb) backend.matmul(w, true, a, ta, dB, 1f, 1f);
        else backend.matmul(a, !ta, w, false, dB, 1f, 1f);
        assertGradient(dA, numericA, "matmul dA");
        assertGradient(dB, numericB, "matmul dB");
    }

    // ---- helpers -------------------------------------------------------------------------------

    /** ∂L/∂input[i] by central differences, with the step actually taken in float. */
    private static double[] numericGradient(Tensor input, DoubleSupplier loss) {
        double[] gradient = new double[Math.toIntExact(input.size())];
        for (int i = 0; i < gradient.length; i++) {
            float original = input.getFloat(i), up = original + H, down = original - H;
            input.setFloat(i, up);
            double lossUp = loss.getAsDouble();
            input.setFloat(i, down);
            double lossDown = loss.getAsDouble();
            input.setFloat(i, original);
            gradient[i] = (lossUp - lossDown) / ((double) up - down);
        }
        return gradient;
    }

    /** gradient − PREFILL matches the numeric gradient: the kernel added its result. */
    private static void assertGradient(Tensor gradient, double[] numeric, String what) {
        float[] analytic = gradient.toFloatArray();
        assertThat(analytic).as(what + ": element count").hasSize(numeric.length);
        double maxError = 0, maxValue = 0;
        for (int i = 0; i < numeric.length; i++) {
            maxError = Math.max(maxError, Math.abs(analytic[i] - PREFILL - numeric[i]));
            maxValue = Math.max(maxValue, Math.abs(numeric[i]));
        }
        assertThat(maxValue).as(what + ": a gradient that is not all zero").isGreaterThan(0.1);
        assertThat(maxError).as(what + ": max error against max gradient " + maxValue)
                .isLessThanOrEqualTo(TOLERANCE * maxValue);
    }

    private static double dot(Tensor w, Tensor out) {
        double total = 0;
        for (long i = 0; i < w.size(); i++) total += (double) w.getFloat(i) * out.getFloat(i);
        return total;
    }

    private Tensor random(int... shape) {
        Tensor t = zeros(shape);
        for (long i = 0; i < t.size(); i++) t.setFloat(i, (float) random.nextGaussian());
        return t;
    }

    private Tensor zeros(int... shape) {
        return Tensor.allocate(arena, DType.F32, shape);
    }

    private Tensor prefilled(int... shape) {
        Tensor t = zeros(shape);
        for (long i = 0; i < t.size(); i++) t.setFloat(i, PREFILL);
        return t;
    }
}
