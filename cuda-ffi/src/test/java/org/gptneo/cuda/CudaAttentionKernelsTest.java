package org.gptneo.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.util.Random;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.ComposedAttention;
import org.gptneo.cuda.emulator.EmulatedRuntime;
import org.gptneo.cuda.runtime.GemmCall;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fused attention kernels (attention.cu) on the emulated runtime where the conformance kit does
 * not reach: the smaller tiles of larger heads, a decode step over a long cache, gradients not wanted,
 * the log-sum-exp kept per row, refused arguments. The reference is {@link ComposedAttention} on the
 * same backend (cuBLAS products and the masked-softmax kernel); the kit checks every mask against the
 * scalar reference.
 */
class CudaAttentionKernelsTest {
    private static final double TOLERANCE = 1e-5;

    private static CudaBackend backend;
    private Arena arena;
    private final Random random = new Random(42);

    @BeforeAll
    static void open() {
        String why = EmulatedRuntime.unavailableReason();
        if (why != null) {
            throw new IllegalStateException("the kernel emulator needs g++ (apt-get install g++): " + why);
        }
        backend = CudaBackend.open(0, EmulatedRuntime::open, GemmCall.Precision.F32);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    @BeforeEach
    void arena() {
        arena = Arena.ofShared();
    }

    @AfterEach
    void free() {
        arena.close();
    }

    /** hs 96 and 128 take tiles of 16 query rows and keys (8 × 16 for dk, dv), smaller than the kit's heads. */
    @ParameterizedTest(name = "hs={0}")
    @ValueSource(ints = {96, 128})
    void largeHeadsAgreeWithTheComposition(int hs) {
        agreesWithTheComposition(new int[] {1, 2, 20, 40}, hs, 0, AttentionMask.local(5), 0f);
        agreesWithTheComposition(new int[] {1, 1, 20, 40}, hs, 0, AttentionMask.GLOBAL, 0.1f);
    }

    /** One new token against 300 cached keys of a [1, 2, 310, 16] cache, local window 7 and global. */
    @Test
    void decodeStepOverALongCacheAgreesWithTheComposition() {
        agreesWithTheComposition(new int[] {1, 2, 1, 300}, 16, 10, AttentionMask.local(7), 0f);
        agreesWithTheComposition(new int[] {1, 2, 1, 300}, 16, 10, AttentionMask.GLOBAL, 0f);
    }

    @Test
    void eachGradientAloneIsTheOneComputedWithTheOthers() {
        int[] qShape = {2, 2, 9, 8}, kShape = {2, 2, 11, 8};
        AttentionMask mask = new AttentionMask(3, new int[] {0, 4});
        Tensor q = random(qShape), k = random(kShape), v = random(kShape), dOut = random(qShape);
        Tensor out = backend.allocate(arena, DType.F32, qShape), stats = backend.allocate(arena, DType.F32, 2, 2, 9);
        backend.attention(q, k, v, mask, 0.2f, 7, out, stats);
        Tensor[] all = {random(qShape), random(kShape), random(kShape)};
        float[][] before = {host(all[0]), host(all[1]), host(all[2])};
        backend.attentionBackward(q, k, v, mask, 0.2f, 7, out, stats, dOut, all[0], all[1], all[2]);
        for (int wanted = 0; wanted < 3; wanted++) {
            Tensor[] one = new Tensor[3];
            one[wanted] = backend.upload(Tensor.of(arena, before[wanted], all[wanted].shape()), arena);
            backend.attentionBackward(q, k, v, mask, 0.2f, 7, out, stats, dOut, one[0], one[1], one[2]);
            assertThat(host(one[wanted])).as("gradient %d alone", wanted).containsExactly(host(all[wanted]));
        }
        backend.attentionBackward(q, k, v, mask, 0.2f, 7, out, stats, dOut, null, null, null);
    }

    /** rowStats: the log-sum-exp of each row's visible scores; log S for a row that sees no key (uniform). */
    @Test
    void rowStatsKeepEachRowsLogSumExp() {
        int t = 3, s = 5, hs = 4;
        AttentionMask mask = new AttentionMask(0, new int[] {4});                   // row 0 (key position 2) sees none
        Tensor q = random(1, 1, t, hs), k = random(1, 1, s, hs), v = random(1, 1, s, hs);
        Tensor out = backend.allocate(arena, DType.F32, 1, 1, t, hs), stats = backend.allocate(arena, DType.F32, 1, 1, t);
        backend.attention(q, k, v, mask, 0f, 0, out, stats);
        float[] qs = host(q), ks = host(k), lse = host(stats);
        for (int i = 0; i < t; i++) {
            double expected = Math.log(s), max = Double.NEGATIVE_INFINITY, sum = 0;
            int lo = mask.firstVisible(0, s - t + i), hi = mask.endVisible(s - t + i, s);
            double[] scores = new double[s];
            for (int j = lo; j < hi; j++) {
                for (int d = 0; d < hs; d++) scores[j] += (double) qs[i * hs + d] * ks[j * hs + d];
                max = Math.max(max, scores[j]);
            }
            for (int j = lo; j < hi; j++) sum += Math.exp(scores[j] - max);
            if (lo < hi) expected = max + Math.log(sum);
            assertThat((double) lse[i]).as("row %d", i).isCloseTo(expected, org.assertj.core.api.Assertions.within(1e-5));
        }
    }

    @Test
    void badArgumentsAreRefusedInOneLine() {
        Tensor q = random(1, 2, 3, 4), k = random(1, 2, 5, 4), out = backend.allocate(arena, DType.F32, 1, 2, 3, 4);
        Tensor stats = backend.allocate(arena, DType.F32, 1, 2, 3), wrongStats = backend.allocate(arena, DType.F32, 1, 2, 4);
        assertThatThrownBy(() -> backend.attention(q, k, k, AttentionMask.GLOBAL, 0f, 0, out, wrongStats))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("attention needs q, out [B, H, T, hs], k, v [B, H, S, hs] and rowStats [B, H, T], got " + q + ", "
                        + out + ", " + k + ", " + k + " and " + wrongStats);
        Tensor half = backend.upload(Tensor.allocate(arena, DType.BF16, 1, 2, 5, 4), arena);
        assertThatThrownBy(() -> backend.attention(q, half, half, AttentionMask.GLOBAL, 0f, 0, out, stats))
                .hasMessage("attention reads k and v as F32 with a dense last dimension, got " + half);
        assertThatThrownBy(() -> backend.attention(q, k, k, new AttentionMask(0, new int[] {0, 1, 2}), 0f, 0, out, stats))
                .hasMessage("attention: 3 padded rows do not divide 2 score matrices");
        assertThatThrownBy(() -> backend.attentionBackward(q, k, k, AttentionMask.GLOBAL, 0f, 0, out, stats, out, k, null, null))
                .hasMessage("attentionBackward needs dOut, dq " + q + " and dk, dv " + k + ", got " + out + ", " + k + ", null and null");
    }

    /**
     * Fused forward and backward against the composition for q [b, h, t, hs] and k, v [b, h, s, hs], the
     * first s of s + spare slots of a cache when spare &gt; 0 (gradients prefilled: backward kernels add).
     */
    private void agreesWithTheComposition(int[] bhts, int hs, int spare, AttentionMask mask, float dropout) {
        int b = bhts[0], h = bhts[1], t = bhts[2], s = bhts[3];
        Tensor q = scaled(random(b, h, t, hs)), dOut = random(b, h, t, hs);
        Tensor k = view(scaled(random(b, h, s + spare, hs)), s), v = view(random(b, h, s + spare, hs), s);
        long seed = 11;
        Tensor[] fused = {random(b, h, t, hs), random(b, h, s, hs), random(b, h, s, hs)};
        Tensor[] composed = {copy(fused[0]), copy(fused[1]), copy(fused[2])};
        Tensor out = backend.allocate(arena, DType.F32, b, h, t, hs), stats = backend.allocate(arena, DType.F32, b, h, t);
        backend.attention(q, k, v, mask, dropout, seed, out, stats);
        backend.attentionBackward(q, k, v, mask, dropout, seed, out, stats, dOut, fused[0], fused[1], fused[2]);
        Tensor expected = backend.allocate(arena, DType.F32, b, h, t, hs);
        ComposedAttention.forward(backend, q, k, v, mask, dropout, seed, expected);
        ComposedAttention.backward(backend, q, k, v, mask, dropout, seed, dOut, composed[0], composed[1], composed[2]);
        String what = mask + " hs=" + hs + " dropout=" + dropout;
        close(out, expected, "out " + what);
        String[] names = {"dq ", "dk ", "dv "};
        for (int i = 0; i < 3; i++) close(fused[i], composed[i], names[i] + what);
    }

    private void close(Tensor actual, Tensor expected, String what) {
        float[] x = host(actual), y = host(expected);
        double maxError = 0, maxValue = 0;
        for (int i = 0; i < x.length; i++) {
            maxError = Math.max(maxError, Math.abs((double) x[i] - y[i]));
            maxValue = Math.max(maxValue, Math.abs(y[i]));
        }
        assertThat(maxError).as("%s: max error against max value %s", what, maxValue).isLessThanOrEqualTo(TOLERANCE * maxValue);
    }

    private Tensor random(int... shape) {
        float[] values = new float[Math.toIntExact(Tensor.elementCount(shape))];
        for (int i = 0; i < values.length; i++) values[i] = random.nextFloat() * 2 - 1;
        return backend.upload(Tensor.of(arena, values, shape), arena);
    }

    private Tensor scaled(Tensor x) {
        backend.scale(x, 0.6f);
        return x;
    }

    private Tensor copy(Tensor x) {
        Tensor y = backend.allocate(arena, DType.F32, x.shape());
        backend.copy(x, y);
        return y;
    }

    private static Tensor view(Tensor full, int s) {
        return full.dim(2) == s ? full : full.slice(2, 0, s);
    }

    private float[] host(Tensor x) {
        return backend.download(x, arena).toFloatArray();
    }
}
