package org.gptneo.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.Random;
import java.util.stream.Stream;
import org.gptneo.backend.AttentionMask;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What the conformance kit does not pin about the CPU backend's fused attention: the same bits
 * whatever the thread count (forward and backward; training must be reproducible on any machine),
 * gradients that are not wanted (null) leave the others exactly as they are, and a one-hot row's
 * exactly zero score gradient. Its values against the
 * reference are checked by {@link CpuBackendConformanceTest}.
 */
class CpuFusedAttentionTest {
    private static final int BATCH = 2, HEADS = 3, HS = 24;

    /** T, S, mask, dropout, keys and values as a cache view: lane groups (T ≥ 8) and single rows, tiles of many keys. */
    static Stream<Arguments> calls() {
        AttentionMask padded = new AttentionMask(0, new int[] {0, 37});
        return Stream.of(
                Arguments.of(150, 150, AttentionMask.GLOBAL, 0.1f, false),
                Arguments.of(150, 150, AttentionMask.local(40), 0f, false),
                Arguments.of(70, 200, padded, 0.2f, true),
                Arguments.of(33, 33, AttentionMask.local(5).bidirectional(), 0f, false),
                Arguments.of(1, 300, AttentionMask.GLOBAL, 0f, true),
                Arguments.of(3, 130, padded.withFirstKeys(new int[] {5, 129}), 0.3f, true));
    }

    @ParameterizedTest(name = "T={0} S={1} {2} dropout={3} view={4}")
    @MethodSource("calls")
    void resultsDoNotDependOnTheThreadCount(int t, int s, AttentionMask mask, float dropout, boolean view) {
        int[][] one = run(1, t, s, mask, dropout, view, true, true, true);
        for (int threads : new int[] {2, 3}) {
            int[][] more = run(threads, t, s, mask, dropout, view, true, true, true);
            String[] names = {"out", "rowStats", "dq", "dk", "dv"};
            for (int i = 0; i < names.length; i++) {
                assertThat(more[i]).as("%s with %d threads against 1", names[i], threads).isEqualTo(one[i]);
            }
        }
    }

    @ParameterizedTest(name = "T={0} S={1} {2} dropout={3} view={4}")
    @MethodSource("calls")
    void gradientsNotWantedLeaveTheOthersAsTheyAre(int t, int s, AttentionMask mask, float dropout, boolean view) {
        int[][] all = run(2, t, s, mask, dropout, view, true, true, true);
        assertThat(run(2, t, s, mask, dropout, view, true, false, false)[2]).as("dq alone").isEqualTo(all[2]);
        assertThat(run(2, t, s, mask, dropout, view, false, true, false)[3]).as("dk alone").isEqualTo(all[3]);
        assertThat(run(2, t, s, mask, dropout, view, false, false, true)[4]).as("dv alone").isEqualTo(all[4]);
    }

    @Test
    void aRowThatSeesOneKeyPassesNoGradientToQueriesOrKeys() {
        // P is exactly one-hot, so dS = P⊙(dP − D) must be exactly 0, as PyTorch's softmax backward gives it
        // (GoldenParityTest's window-1 model): D = rowsum(dO ⊙ O) is summed in the order of dP's sums.
        try (CpuBackend backend = new CpuBackend(2); Arena arena = Arena.ofShared()) {
            Random random = new Random(5);
            Tensor q = random(arena, random, BATCH, HEADS, 40, HS), k = random(arena, random, BATCH, HEADS, 40, HS);
            Tensor v = random(arena, random, BATCH, HEADS, 40, HS), dOut = random(arena, random, BATCH, HEADS, 40, HS);
            Tensor out = Tensor.allocate(arena, DType.F32, BATCH, HEADS, 40, HS), stats = Tensor.allocate(arena, DType.F32, BATCH, HEADS, 40);
            Tensor dq = Tensor.allocate(arena, DType.F32, BATCH, HEADS, 40, HS), dk = Tensor.allocate(arena, DType.F32, BATCH, HEADS, 40, HS);
            backend.attention(q, k, v, AttentionMask.local(1), 0f, 1, out, stats);
            backend.attentionBackward(q, k, v, AttentionMask.local(1), 0f, 1, out, stats, dOut, dq, dk, null);
            assertThat(bits(out)).as("out = v").isEqualTo(bits(v));
            assertThat(backend.sumOfSquares(dq)).as("dq").isZero();
            assertThat(backend.sumOfSquares(dk)).as("dk").isZero();
        }
    }

    /**
     * The bits of out, rowStats, dq, dk and dv (prefilled: backward kernels add; null where not wanted)
     * for seeded q [B, H, T, hs], k and v [B, H, S, hs] (or the first S slots of [B, H, S + 7, hs]) and dOut.
     */
    private static int[][] run(int threads, int t, int s, AttentionMask mask, float dropout, boolean view,
                               boolean wantDq, boolean wantDk, boolean wantDv) {
        Random random = new Random(31L * t + s);
        int slots = view ? s + 7 : s;
        try (CpuBackend backend = new CpuBackend(threads); Arena arena = Arena.ofShared()) {
            Tensor q = random(arena, random, BATCH, HEADS, t, HS), dOut = random(arena, random, BATCH, HEADS, t, HS);
            Tensor k = random(arena, random, BATCH, HEADS, slots, HS).slice(2, 0, s);
            Tensor v = random(arena, random, BATCH, HEADS, slots, HS).slice(2, 0, s);
            Tensor out = Tensor.allocate(arena, DType.F32, BATCH, HEADS, t, HS), stats = Tensor.allocate(arena, DType.F32, BATCH, HEADS, t);
            Tensor dq = random(arena, random, BATCH, HEADS, t, HS);
            Tensor dk = random(arena, random, BATCH, HEADS, s, HS), dv = random(arena, random, BATCH, HEADS, s, HS);
            backend.attention(q, k, v, mask, dropout, 99, out, stats);
            backend.attentionBackward(q, k, v, mask, dropout, 99, out, stats, dOut,
                    wantDq ? dq : null, wantDk ? dk : null, wantDv ? dv : null);
            return new int[][] {bits(out), bits(stats), wantDq ? bits(dq) : null, wantDk ? bits(dk) : null, wantDv ? bits(dv) : null};
        }
    }

    private static Tensor random(Arena arena, Random random, int... shape) {
        Tensor x = Tensor.allocate(arena, DType.F32, shape);
        for (long i = 0; i < x.size(); i++) x.setFloat(i, 0.5f * (float) random.nextGaussian());
        return x;
    }

    private static int[] bits(Tensor t) {
        float[] f = t.toFloatArray();
        int[] out = new int[f.length];
        for (int i = 0; i < f.length; i++) out[i] = Float.floatToRawIntBits(f[i]);
        return out;
    }
}
