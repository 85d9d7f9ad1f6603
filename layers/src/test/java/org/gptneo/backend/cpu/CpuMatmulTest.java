package org.gptneo.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The packed GEMM ({@link CpuMatmul}, M above the matrix-vector paths) on sizes cut to reach its
 * edges: K not a multiple of the gather group (VL / gcd(12, VL) depths) nor of the 64-depth staging
 * pass, K over two and three slabs, N not a multiple of the 2·VL-column micro-panel and over two
 * packed column blocks, M not a multiple of the 12-row micro-panel and split unevenly over row tasks;
 * all four transpose cases, a batch of two with strided operands, (alpha, beta) ≠ (1, 0), and BF16
 * op(B) (widened while staged):
 * <ul>
 *   <li>against a scalar double-precision sum over the operands' F32 values. Measured on AVX-512: at
 *       most 2.7e-7 of |alpha|·Σ|a·b| + |beta·c| (bound 1e-5, the conformance tolerance);</li>
 *   <li>the same bits on 1, 2 and 3 threads (the cut of rows and columns depends on the thread
 *       count, the summation order of a C element does not).</li>
 * </ul>
 */
class CpuMatmulTest {
    /** {M, N, K}. */
    private static final int[][] SIZES = {
        {9, 40, 3},        // K below one gather group (4 depths with 16 lanes): the scalar tail alone; one ragged row panel
        {125, 77, 771},    // two slabs of 386 (ragged after the gathers), 11 row panels (the last ragged) over 4 or 6 tasks
        {30, 50, 700},     // one slab deeper than KC (up to ONE_SLAB)
        {13, 2085, 70},    // two column blocks, ragged last panel; K past one staging pass
        {61, 100, 1100},   // three slabs of 367
        // A·Bᵀ for up to CpuMatvec.MAX_ROWS rows of A is CpuMatvec's; these keep it here:
        {67, 40, 7},       // one gather group and a scalar tail, 5 row panels and a ragged one
        {70, 2085, 70},    // as the third
    };

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> cases = Stream.builder();
        for (int[] s : SIZES) {
            for (boolean ta : new boolean[] {false, true}) {
                for (boolean tb : new boolean[] {false, true}) {
                    cases.add(Arguments.of(s[0], s[1], s[2], ta, tb, DType.F32));
                }
            }
            cases.add(Arguments.of(s[0], s[1], s[2], false, true, DType.BF16));
            cases.add(Arguments.of(s[0], s[1], s[2], false, false, DType.BF16));
        }
        return cases.build();
    }

    @ParameterizedTest(name = "M={0} N={1} K={2} tA={3} tB={4} B {5}")
    @MethodSource("cases")
    void matchesAScalarSumAndGivesTheSameBitsOnAnyThreadCount(int m, int n, int k, boolean ta, boolean tb, DType bType) {
        int batch = 2;
        try (Arena arena = Arena.ofShared(); CpuBackend one = new CpuBackend(1); CpuBackend two = new CpuBackend(2);
             CpuBackend three = new CpuBackend(3)) {
            Random random = new Random(m * 1_000_003L + n * 1009L + k);
            Tensor a = random(arena, random, ta ? new int[] {batch, k, m} : new int[] {batch, m, k});
            Tensor b = random(arena, random, tb ? new int[] {batch, n, k} : new int[] {batch, k, n}).to(arena, bType);
            Tensor c0 = random(arena, random, batch, m, n);                              // C before: [2, M, N]
            float alpha = 0.5f, beta = -1.5f;
            float[] as = a.toFloatArray(), bs = b.to(arena, DType.F32).toFloatArray(), cs = c0.toFloatArray();
            float[] expected = product(one, arena, a, ta, b, tb, c0, alpha, beta);
            for (int p = 0; p < batch; p++) {
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double sum = 0, scale = 0;
                        for (int t = 0; t < k; t++) {
                            double x = as[p * m * k + (ta ? t * m + i : i * k + t)];
                            double y = bs[p * k * n + (tb ? j * k + t : t * n + j)];
                            sum += x * y;
                            scale += Math.abs(x * y);
                        }
                        int at = (p * m + i) * n + j;
                        double want = alpha * sum + beta * cs[at];
                        double bound = 1e-5 * (Math.abs(alpha) * scale + Math.abs(beta * cs[at]));
                        assertThat(Math.abs(expected[at] - want)).as("C[%d, %d, %d]", p, i, j).isLessThanOrEqualTo(bound);
                    }
                }
            }
            assertThat(product(two, arena, a, ta, b, tb, c0, alpha, beta)).as("2 threads").isEqualTo(expected);
            assertThat(product(three, arena, a, ta, b, tb, c0, alpha, beta)).as("3 threads").isEqualTo(expected);
        }
    }

    /**
     * The 6-row micro-kernel (the one narrower vectors use, unreachable through the GEMM on AVX-512)
     * and the 12-row one give the same bits for the same rows: each output is one FMA chain over k
     * in order. Both against a double-precision sum.
     */
    @Test
    void theSixAndTwelveRowMicroKernelsGiveTheSameBits() {
        int kc = 37, nr = CpuMatmul.NR;
        Random random = new Random(12);
        float[] a12 = new float[kc * 12], b = new float[kc * nr];             // [kc][12], [kc][NR]
        for (int i = 0; i < a12.length; i++) a12[i] = (float) random.nextGaussian();
        for (int i = 0; i < b.length; i++) b[i] = (float) random.nextGaussian();
        float[] tile12 = new float[12 * nr];
        CpuMatmul.microKernel12(a12, 0, b, 0, kc, tile12);
        for (int half = 0; half < 2; half++) {
            float[] a6 = new float[kc * 6], tile6 = new float[6 * nr];          // rows 6·half .. 6·half + 6
            for (int t = 0; t < kc; t++) System.arraycopy(a12, t * 12 + 6 * half, a6, t * 6, 6);
            CpuMatmul.microKernel6(a6, 0, b, 0, kc, tile6);
            assertThat(tile6).as("rows from %d", 6 * half).isEqualTo(Arrays.copyOfRange(tile12, 6 * half * nr, (6 * half + 6) * nr));
        }
        for (int r = 0; r < 12; r++) {
            for (int j = 0; j < nr; j++) {
                double sum = 0, scale = 0;
                for (int t = 0; t < kc; t++) {
                    sum += (double) a12[t * 12 + r] * b[t * nr + j];
                    scale += Math.abs((double) a12[t * 12 + r] * b[t * nr + j]);
                }
                assertThat(Math.abs(tile12[r * nr + j] - sum)).as("tile[%d, %d]", r, j).isLessThanOrEqualTo(1e-5 * scale);
            }
        }
    }

    /** alpha·op(A)·op(B) + beta·C on {@code cpu}, into a copy of {@code c0}. */
    private static float[] product(CpuBackend cpu, Arena arena, Tensor a, boolean ta, Tensor b, boolean tb, Tensor c0,
                                   float alpha, float beta) {
        Tensor c = Tensor.of(arena, c0.toFloatArray(), c0.shape());
        cpu.matmul(a, ta, b, tb, c, alpha, beta);
        return c.toFloatArray();
    }

    private static Tensor random(Arena arena, Random random, int... shape) {
        float[] values = new float[Arrays.stream(shape).reduce(1, Math::multiplyExact)];
        for (int i = 0; i < values.length; i++) values[i] = (float) random.nextGaussian();
        return Tensor.of(arena, values, shape);
    }
}
