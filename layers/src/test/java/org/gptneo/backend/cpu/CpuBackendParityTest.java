package org.gptneo.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.gptneo.backend.AdamWStep;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.Backend;
import org.gptneo.backend.conformance.ReferenceBackend;
import org.gptneo.backend.Backends;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every {@link Backend} method of {@link CpuBackend} against {@link ReferenceBackend} on seeded random
 * inputs. Sizes are odd on purpose (1, 3, 7, 17, 33, 65, 130 are not multiples of any vector width),
 * and some are large enough that the kernels split their work over threads.
 *
 * <p>Results are compared by max-abs-error / max-abs-value. Kernels that do the reference's float
 * operations in the reference's order (elementwise arithmetic, copies, dropout, embedding) must match
 * bit for bit; the others may differ by summation order and by an ulp of exp or tanh.
 */
class CpuBackendParityTest {
    private static final Backend CPU = new CpuBackend();
    private static final Backend REF = new ReferenceBackend();
    /** Float32 results that differ only in summation order and in ≤ 1 ulp of exp/tanh. */
    private static final double TOLERANCE = 1e-5;
    /** Odd lengths, plus ones big enough to be split over threads. */
    private static final int[] LENGTHS = {0, 1, 3, 7, 17, 33, 65, 130, 100_003, (1 << 18) + 5};

    /** Shared, because the backend's helper threads read and write the tensors. */
    private final Arena arena = Arena.ofShared();
    private final Random random = new Random(20_240_601);

    @AfterEach
    void closeArena() {
        arena.close();
    }

    // ---- matrix products -----------------------------------------------------------------------

    /** How the operands' leading dimensions look: plain matrices, batched, or one side shared. */
    private enum Batching {
        NONE(false, false), BOTH(true, true), SHARED_A(false, true), SHARED_B(true, false);

        final boolean batchedA, batchedB;

        Batching(boolean batchedA, boolean batchedB) {
            this.batchedA = batchedA;
            this.batchedB = batchedB;
        }
    }

    static Stream<Arguments> matmulCases() {
        int[][] mnk = {{1, 1, 1}, {3, 7, 17}, {2, 70, 131}, {4, 5, 64}, {17, 33, 7}, {65, 3, 33}, {33, 130, 65}, {250, 300, 9}, {20, 40, 600}};
        List<Arguments> cases = new ArrayList<>();
        for (int[] s : mnk) {
            for (boolean ta : new boolean[] {false, true}) {
                for (boolean tb : new boolean[] {false, true}) {
                    cases.add(Arguments.of(s[0], s[1], s[2], ta, tb));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "M={0} N={1} K={2} transposeA={3} transposeB={4}")
    @MethodSource("matmulCases")
    void matmulMatchesReferenceForEveryLayoutAndScale(int m, int n, int k, boolean ta, boolean tb) {
        float[][] alphaBeta = {{1f, 0f}, {0.5f, -1.5f}, {-2f, 1f}};
        for (Batching batching : Batching.values()) {
            int batch = batching == Batching.NONE ? 1 : 3;
            Tensor a = random(batched(batching.batchedA, batch, ta ? k : m, ta ? m : k));
            Tensor b = random(batched(batching.batchedB, batch, tb ? n : k, tb ? k : n));
            int[] cShape = batched(batching != Batching.NONE, batch, m, n);
            for (float[] ab : alphaBeta) {
                Tensor expected = random(cShape);
                if (ab[1] == 0f) REF.fill(expected, Float.NaN); // beta = 0 must ignore C, even NaN
                Tensor actual = copyOf(expected);
                REF.matmul(a, ta, b, tb, expected, ab[0], ab[1]);
                CPU.matmul(a, ta, b, tb, actual, ab[0], ab[1]);
                assertClose(actual, expected, TOLERANCE,
                        "matmul %s alpha=%s beta=%s".formatted(batching, ab[0], ab[1]));
            }
        }
    }

    @Test
    void matmulWithEmptyInnerDimensionScalesC() {
        Tensor a = random(4, 0), b = random(0, 5);
        for (float beta : new float[] {0f, 2f}) {
            Tensor expected = random(4, 5), actual = copyOf(expected);
            REF.matmul(a, false, b, false, expected, 1f, beta);
            CPU.matmul(a, false, b, false, actual, 1f, beta);
            assertIdentical(actual, expected, "K = 0, beta " + beta);
        }
    }

    @Test
    void matmulRejectsMismatchedShapes() {
        assertThatThrownBy(() -> CPU.matmul(random(3, 4), false, random(5, 6), false, random(3, 6), 1f, 0f))
                .isInstanceOf(IllegalArgumentException.class);
    }

    // ---- elementwise -----------------------------------------------------------------------------

    @ParameterizedTest(name = "n={0}")
    @MethodSource("lengths")
    void elementwiseKernelsMatchBitForBit(int n) {
        Tensor x = random(n), y = random(n);
        checkIdentical(t -> CPU.fill(t, 0.75f), t -> REF.fill(t, 0.75f), random(n), "fill");
        checkIdentical(t -> CPU.copy(x, t), t -> REF.copy(x, t), random(n), "copy");
        checkIdentical(t -> CPU.add(x, y, t), t -> REF.add(x, y, t), random(n), "add");
        checkIdentical(t -> CPU.mul(x, y, t), t -> REF.mul(x, y, t), random(n), "mul");
        checkIdentical(t -> CPU.add(t, y, t), t -> REF.add(t, y, t), random(n), "add into its first operand");
        checkIdentical(t -> CPU.mul(x, t, t), t -> REF.mul(x, t, t), random(n), "mul into its second operand");
        checkIdentical(t -> CPU.axpy(-0.3f, x, t), t -> REF.axpy(-0.3f, x, t), random(n), "axpy");
        checkIdentical(t -> CPU.scale(t, 1.7f), t -> REF.scale(t, 1.7f), random(n), "scale");
    }

    @ParameterizedTest(name = "n={0}")
    @MethodSource("lengths")
    void sumsMatchToDoublePrecision(int n) {
        Tensor x = random(n);
        // both sum in double, in different orders: they differ by a few double ulps of Σ|x|
        double squares = REF.sumOfSquares(x), absSum = 0;
        for (float v : x.toFloatArray()) absSum += Math.abs(v);
        assertThat(CPU.sumOfSquares(x)).isCloseTo(squares, within(1e-12 * (squares + 1)));
        assertThat(CPU.sum(x)).isCloseTo(REF.sum(x), within(1e-12 * (absSum + 1)));
    }

    @Test
    void elementwiseKernelsRejectMismatchedSizes() {
        assertThatThrownBy(() -> CPU.add(random(3), random(4), random(3))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> CPU.copy(random(3), random(4))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void copyConvertsBetweenDTypes() {
        Tensor src = random(33);
        Tensor expected = Tensor.allocate(arena, DType.BF16, 33), actual = Tensor.allocate(arena, DType.BF16, 33);
        REF.copy(src, expected);
        CPU.copy(src, actual);
        assertIdentical(actual, expected, "copy to BF16");
    }

    @Test
    void computeKernelsNameTheDTypeTheyNeed() {
        Tensor half = Tensor.allocate(arena, DType.F16, 4);
        assertThatThrownBy(() -> CPU.scale(half, 2f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("F32");
    }

    @ParameterizedTest(name = "C={0}")
    @ValueSource(ints = {1, 3, 17, 33, 130})
    void biasKernelsMatch(int c) {
        for (int rows : new int[] {1, 7, 600}) {
            Tensor bias = random(c), dy = random(rows, c);
            checkIdentical(t -> CPU.addBias(t, bias), t -> REF.addBias(t, bias), random(rows, c), "addBias");
            check(t -> CPU.addBiasBackward(dy, t), t -> REF.addBiasBackward(dy, t), random(c), "addBiasBackward");
        }
    }

    @Test
    void swapMiddleMatchesBitForBit() {
        int[][] shapes = {{1, 1, 1, 1}, {2, 3, 5, 7}, {1, 17, 4, 33}, {3, 4, 130, 16}};
        for (int[] s : shapes) {
            Tensor x = random(s);
            int[] swapped = {s[0], s[2], s[1], s[3]};
            checkIdentical(t -> CPU.swapMiddle(x, t, false), t -> REF.swapMiddle(x, t, false), random(swapped), "swap");
            checkIdentical(t -> CPU.swapMiddle(x, t, true), t -> REF.swapMiddle(x, t, true), random(swapped), "swap+");
        }
    }

    // ---- layers --------------------------------------------------------------------------------

    @ParameterizedTest(name = "C={0}")
    @ValueSource(ints = {1, 3, 17, 33, 130, 768})
    void layerNormForwardAndBackwardMatch(int c) {
        for (int rows : new int[] {1, 5, 300}) {
            Tensor x = random(rows, c), gamma = random(c), beta = random(c), dOut = random(rows, c);
            Tensor[] expected = {random(rows, c), random(rows), random(rows)};
            Tensor[] actual = {copyOf(expected[0]), copyOf(expected[1]), copyOf(expected[2])};
            REF.layerNorm(x, gamma, beta, 1e-5f, expected[0], expected[1], expected[2]);
            CPU.layerNorm(x, gamma, beta, 1e-5f, actual[0], actual[1], actual[2]);
            assertClose(actual[0], expected[0], TOLERANCE, "layerNorm out");
            assertClose(actual[1], expected[1], TOLERANCE, "layerNorm mean");
            assertClose(actual[2], expected[2], TOLERANCE, "layerNorm rstd");

            Tensor mean = expected[1], rstd = expected[2];
            Tensor[] grads = {random(rows, c), random(c), random(c)};
            Tensor[] cpuGrads = {copyOf(grads[0]), copyOf(grads[1]), copyOf(grads[2])};
            REF.layerNormBackward(dOut, x, gamma, mean, rstd, grads[0], grads[1], grads[2]);
            CPU.layerNormBackward(dOut, x, gamma, mean, rstd, cpuGrads[0], cpuGrads[1], cpuGrads[2]);
            assertClose(cpuGrads[0], grads[0], TOLERANCE, "layerNorm dx, rows " + rows);
            assertClose(cpuGrads[1], grads[1], TOLERANCE, "layerNorm dGamma, rows " + rows);
            assertClose(cpuGrads[2], grads[2], TOLERANCE, "layerNorm dBeta, rows " + rows);
        }
    }

    @ParameterizedTest(name = "n={0}")
    @MethodSource("lengths")
    void geluMatches(int n) {
        Tensor x = random(n);
        REF.scale(x, 3f); // reach the saturated tails of tanh too
        Tensor dOut = random(n);
        check(t -> CPU.geluNew(x, t), t -> REF.geluNew(x, t), random(n), "gelu");
        check(t -> CPU.geluNewBackward(x, dOut, t), t -> REF.geluNewBackward(x, dOut, t), random(n), "gelu backward");
    }

    static Stream<Arguments> softmaxCases() {
        // {batch, heads, T, S}: square, cached keys (T < S), and T > S (rows that see no key at all)
        int[][] shapes = {
            {1, 1, 1, 1}, {2, 3, 7, 7}, {1, 2, 5, 17}, {2, 3, 33, 33}, {1, 1, 3, 130}, {1, 2, 1, 65}, {1, 1, 5, 3}
        };
        List<Arguments> cases = new ArrayList<>();
        for (int[] s : shapes) {
            for (int window : new int[] {0, 1, 2, 3, 40}) cases.add(Arguments.of(s, window));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} weights")
    @ValueSource(strings = {"BF16", "F16"})
    void halfPrecisionWeightsAreWidenedExactly(String dtypeName) {
        DType dtype = DType.valueOf(dtypeName);
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = random(5, 33), weight = random(17, 33).to(arena, dtype), table = random(11, 33).to(arena, dtype);
            check(t -> CPU.matmul(x, false, weight, true, t, 1f, 0f), t -> REF.matmul(x, false, weight, true, t, 1f, 0f),
                    random(5, 17), "x·wᵀ with " + dtype + " w");
            Tensor wNotTransposed = random(33, 17).to(arena, dtype);
            check(t -> CPU.matmul(x, false, wNotTransposed, false, t, 1f, 0f),
                    t -> REF.matmul(x, false, wNotTransposed, false, t, 1f, 0f), random(5, 17), "x·w with " + dtype + " w");
            Tensor ids = Tensor.ofInts(arena, new int[] {3, 0, 10, 3}, 4);
            check(t -> CPU.embedding(table, ids, t), t -> REF.embedding(table, ids, t), random(4, 33), dtype + " embedding");
        }
    }

    @ParameterizedTest(name = "left padding, window={0}")
    @ValueSource(ints = {0, 2, 5})
    void maskedSoftmaxWithLeftPaddingMatches(int window) {
        // batch 3 × heads 2, T = 4 new queries over S = 9 keys; rows padded by 0, 3 and 8 slots
        AttentionMask mask = new AttentionMask(window, new int[] {0, 3, 8});
        Tensor scores = random(3, 2, 4, 9);
        check(t -> CPU.maskedSoftmax(scores, mask, t), t -> REF.maskedSoftmax(scores, mask, t), random(3, 2, 4, 9),
                "padded softmax");
    }

    @ParameterizedTest(name = "shape={0} window={1}")
    @MethodSource("softmaxCases")
    void maskedSoftmaxAndBackwardMatch(int[] shape, int window) {
        AttentionMask mask = new AttentionMask(window, null);
        Tensor scores = random(shape);
        REF.scale(scores, 4f); // a spread that makes the max subtraction matter
        check(t -> CPU.maskedSoftmax(scores, mask, t), t -> REF.maskedSoftmax(scores, mask, t), random(shape),
                "softmax");

        Tensor probs = random(shape);
        REF.maskedSoftmax(scores, mask, probs);
        Tensor dProbs = random(shape);
        check(t -> CPU.softmaxBackward(probs, dProbs, t), t -> REF.softmaxBackward(probs, dProbs, t), random(shape),
                "softmax backward");
    }

    @Test
    void maskedSoftmaxKeepsTheReferenceAnswerForHiddenAndInfiniteScores() {
        Tensor scores = Tensor.of(arena, new float[] {
                Float.NEGATIVE_INFINITY, 1f, 2f, Float.NEGATIVE_INFINITY, // the visible key of row 0 is −∞
                3f, Float.NEGATIVE_INFINITY, 5f, 6f}, 1, 2, 4);
        for (AttentionMask mask : List.of(AttentionMask.GLOBAL, AttentionMask.local(1), AttentionMask.local(2))) {
            Tensor expected = random(1, 2, 4), actual = random(1, 2, 4);
            REF.maskedSoftmax(scores, mask, expected);
            CPU.maskedSoftmax(scores, mask, actual);
            assertClose(actual, expected, TOLERANCE, "softmax with −∞, " + mask);
        }
    }

    @ParameterizedTest(name = "C={0}")
    @ValueSource(ints = {1, 3, 17, 130})
    void embeddingMatchesBitForBit(int c) {
        int vocab = 11;
        for (int n : new int[] {1, 7, 40, 600}) {
            Tensor table = random(vocab, c), dOut = random(n, c), ids = ids(n, vocab);
            checkIdentical(t -> CPU.embedding(table, ids, t), t -> REF.embedding(table, ids, t), random(n, c),
                    "embedding");
            checkIdentical(t -> CPU.embeddingBackward(ids, dOut, t), t -> REF.embeddingBackward(ids, dOut, t),
                    random(vocab, c), "embedding backward");
        }
    }

    @ParameterizedTest(name = "bad id {0}")
    @ValueSource(ints = {-1, 11, Integer.MAX_VALUE})
    void embeddingRejectsOutOfRangeIdsLikeTheReference(int bad) {
        Tensor table = random(11, 3), ids = Tensor.ofInts(arena, new int[] {2, 4, bad, 1}, 4);
        Tensor out = random(4, 3), dTable = random(11, 3);
        String message = catchThrowable(() -> REF.embedding(table, ids, out)).getMessage();
        assertThatThrownBy(() -> CPU.embedding(table, ids, out))
                .isInstanceOf(IndexOutOfBoundsException.class).hasMessage(message);
        assertThatThrownBy(() -> CPU.embeddingBackward(ids, out, dTable))
                .isInstanceOf(IndexOutOfBoundsException.class).hasMessage(message);
    }

    @ParameterizedTest(name = "V={0}")
    @ValueSource(ints = {1, 3, 17, 130, 1000})
    void crossEntropyAndBackwardMatch(int v) {
        int ignore = -100;
        for (int n : new int[] {1, 9}) {
            Tensor logits = random(n, v);
            REF.scale(logits, 5f);
            int[] targets = ids(n, v).toIntArray();
            targets[n / 2] = ignore;
            Tensor t = Tensor.ofInts(arena, targets, n);
            check(out -> CPU.crossEntropy(logits, t, ignore, out), out -> REF.crossEntropy(logits, t, ignore, out),
                    random(n), "cross entropy");
            check(d -> CPU.crossEntropyBackward(logits, t, ignore, 1f / n, d),
                    d -> REF.crossEntropyBackward(logits, t, ignore, 1f / n, d), random(n, v),
                    "cross entropy backward");
        }
    }

    @Test
    void crossEntropyRejectsOutOfRangeTargetsLikeTheReference() {
        Tensor logits = random(3, 5), targets = Tensor.ofInts(arena, new int[] {1, 5, 0}, 3);
        String message = catchThrowable(() -> REF.crossEntropy(logits, targets, -100, random(3))).getMessage();
        assertThatThrownBy(() -> CPU.crossEntropy(logits, targets, -100, random(3)))
                .isInstanceOf(IndexOutOfBoundsException.class).hasMessage(message);
        assertThatThrownBy(() -> CPU.crossEntropyBackward(logits, targets, -100, 1f, random(3, 5)))
                .isInstanceOf(IndexOutOfBoundsException.class).hasMessage(message);
    }

    @ParameterizedTest(name = "n={0}")
    @MethodSource("lengths")
    void dropoutMaskMatchesBitForBit(int n) {
        for (float p : new float[] {0f, 0.1f, 0.5f}) {
            for (long seed : new long[] {0L, 42L, -7L}) {
                checkIdentical(t -> CPU.dropoutMask(t, p, seed), t -> REF.dropoutMask(t, p, seed), random(n),
                        "dropout p=" + p + " seed=" + seed);
            }
        }
    }

    @ParameterizedTest(name = "n={0}")
    @MethodSource("lengths")
    void adamWMatches(int n) {
        for (AdamWStep step : List.of(new AdamWStep(1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 1),
                new AdamWStep(3e-4f, 0.8f, 0.95f, 1e-6f, 0f, 1000))) {
            Tensor grad = random(n), param = random(n), m = random(n), v = random(n);
            REF.mul(v, v, v); // second moments are non-negative
            Tensor[] cpu = {copyOf(param), copyOf(m), copyOf(v)};
            REF.adamW(param, grad, m, v, step);
            CPU.adamW(cpu[0], grad, cpu[1], cpu[2], step);
            assertClose(cpu[0], param, TOLERANCE, "adamW param");
            assertClose(cpu[1], m, TOLERANCE, "adamW m");
            assertClose(cpu[2], v, TOLERANCE, "adamW v");
        }
    }

    // ---- threading and registration -----------------------------------------------------------

    @Test
    void tensorsOfAConfinedArenaAreProcessedOnTheCallingThread() {
        try (Arena confined = Arena.ofConfined()) {
            Tensor a = fill(Tensor.allocate(confined, DType.F32, 200, 300));
            Tensor b = fill(Tensor.allocate(confined, DType.F32, 300, 250));
            Tensor expected = Tensor.allocate(confined, DType.F32, 200, 250);
            Tensor actual = Tensor.allocate(confined, DType.F32, 200, 250);
            REF.matmul(a, false, b, false, expected, 1f, 0f);
            CPU.matmul(a, false, b, false, actual, 1f, 0f);
            assertClose(actual, expected, TOLERANCE, "matmul in a confined arena");
            Tensor big = fill(Tensor.allocate(confined, DType.F32, 300_001));
            assertThat(CPU.sum(big)).isCloseTo(REF.sum(big), within(1e-6));
        }
    }

    @Test
    void registersAndCreatesOneBackendPerCall() {
        CpuBackendProvider provider = new CpuBackendProvider();
        assertThat(provider.name()).isEqualTo("cpu");
        assertThat(provider.priority()).isZero();
        assertThat(provider.isAvailable()).isTrue();
        assertThat(provider.deviceCount()).isOne();
        try (Backend a = provider.create(0); Backend b = Backends.byName("cpu")) {
            assertThat(a).isInstanceOf(CpuBackend.class).isNotSameAs(b);   // each owns its thread pool
            assertThat(a.name()).isEqualTo("cpu");
        }
        assertThatThrownBy(() -> provider.create(1)).hasMessageContaining("one device");
        try (CpuBackend one = new CpuBackend(1)) {
            assertThat(one.threads()).isOne();
        }
        assertThatThrownBy(() -> new CpuBackend(0)).hasMessageContaining("at least one thread");
    }

    // ---- helpers -------------------------------------------------------------------------------

    static Stream<Integer> lengths() {
        return Arrays.stream(LENGTHS).boxed();
    }

    private static int[] batched(boolean batched, int batch, int rows, int cols) {
        return batched ? new int[] {batch, rows, cols} : new int[] {rows, cols};
    }

    private Tensor random(int... shape) {
        return fill(Tensor.allocate(arena, DType.F32, shape));
    }

    private Tensor fill(Tensor t) {
        float[] values = new float[Math.toIntExact(t.size())];
        for (int i = 0; i < values.length; i++) values[i] = (float) random.nextGaussian();
        t.copyFrom(values);
        return t;
    }

    private Tensor ids(int n, int limit) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = random.nextInt(limit);
        return Tensor.ofInts(arena, ids, n);
    }

    private Tensor copyOf(Tensor t) {
        Tensor copy = Tensor.allocate(arena, t.dtype(), t.shape());
        copy.copyFrom(t);
        return copy;
    }

    /** Runs both kernels on copies of {@code start} (outputs may be read too) and compares within {@link #TOLERANCE}. */
    private void check(Consumer<Tensor> cpu, Consumer<Tensor> reference, Tensor start, String what) {
        compare(cpu, reference, start, (actual, expected) -> assertClose(actual, expected, TOLERANCE, what));
    }

    private void checkIdentical(Consumer<Tensor> cpu, Consumer<Tensor> reference, Tensor start, String what) {
        compare(cpu, reference, start, (actual, expected) -> assertIdentical(actual, expected, what));
    }

    private void compare(Consumer<Tensor> cpu, Consumer<Tensor> reference, Tensor start,
                         BiConsumer<Tensor, Tensor> assertion) {
        Tensor actual = copyOf(start);
        reference.accept(start);
        cpu.accept(actual);
        assertion.accept(actual, start);
    }

    /** max |actual − expected| ≤ tolerance · max |expected|, NaN only where the reference has NaN. */
    static void assertClose(Tensor actual, Tensor expected, double tolerance, String what) {
        float[] x = actual.toFloatArray(), y = expected.toFloatArray();
        assertThat(x).as(what + ": element count").hasSameSizeAs(y);
        double maxError = 0, maxValue = 0;
        for (int i = 0; i < x.length; i++) {
            if (Float.isNaN(y[i])) {
                assertThat(x[i]).as(what + ": element " + i).isNaN();
                continue;
            }
            maxError = Math.max(maxError, x[i] == y[i] ? 0 : Math.abs((double) x[i] - y[i]));
            maxValue = Math.max(maxValue, Math.abs(y[i]));
        }
        assertThat(maxError).as(what + ": max error against max value " + maxValue)
                .isLessThanOrEqualTo(tolerance * Math.max(maxValue, Float.MIN_NORMAL));
    }

    /** The same bits in every element. */
    private static void assertIdentical(Tensor actual, Tensor expected, String what) {
        float[] x = actual.toFloatArray(), y = expected.toFloatArray();
        int first = Arrays.mismatch(bits(x), bits(y));
        assertThat(first).as(() -> "%s: first differing element %d, %s instead of %s"
                .formatted(what, first, x.length > first ? x[first] : "none", y.length > first ? y[first] : "none"))
                .isEqualTo(-1);
    }

    private static int[] bits(float[] values) {
        int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++) bits[i] = Float.floatToRawIntBits(values[i]);
        return bits;
    }
}
