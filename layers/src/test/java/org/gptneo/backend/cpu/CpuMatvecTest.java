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
 * The decode path x [M, K] · wᵀ (w [N, K], M ≤ 8: {@link CpuMatvec}, whose one-row and four-row
 * kernels read BF16 and Q8 weights straight from memory up to M = 4, and F32, F16 and more rows
 * through its float[] buffer):
 * <ul>
 *   <li>against a scalar double-precision sum over the weights widened to F32, on ragged sizes (K
 *       not a multiple of the vector width, N not a multiple of the four-row group; Q8 rows are whole
 *       blocks). Measured: at most 1.1e-7 of Σ|x·w| (F16; F32 9.2e-8, BF16 8.5e-8, Q8 7.4e-8) on AVX-512, bound 1e-5;</li>
 *   <li>a row's result is the same bits whatever the batch it is in (alone, or at any place among
 *       M = 2..8 rows: the direct and buffered kernels sum each output in the same order);</li>
 *   <li>BF16, F16 and Q8 weights give the same bits as F32 weights holding their widened values (the
 *       kernels widen exactly and share the F32 chains), whatever the thread count;</li>
 *   <li>the groups of four far-apart weight rows that the kernels read side by side take every row
 *       once, and a group short of four rows lacks only its last ones (the kernels repeat the last row).</li>
 * </ul>
 */
class CpuMatvecTest {
    /**
     * {N, K}: K ragged for F32, BF16 and F16 (below, at and above the vector width); N ragged, and with
     * N = 70 (18 groups of 4 rows, the last of 2) the one-row kernel's runs of 4 groups end at pieces'
     * edges and at a short group.
     */
    private static final int[][] SHAPES = {{1, 3}, {3, 16}, {10, 45}, {33, 173}, {7, 768}, {70, 40}};
    /**
     * Rows of A per product: each up to 8 (one and two 4 × 4 tiles, the rows left over), then beyond a
     * tile's multiple, and {@link CpuMatvec#MAX_ROWS}.
     */
    private static final int[] BATCHES = {1, 2, 3, 4, 5, 6, 7, 8, 13, 31, CpuMatvec.MAX_ROWS};
    /** {N, K} for Q8: rows are whole blocks of 32 (odd numbers of blocks), N ragged. */
    private static final int[][] Q8_SHAPES = {{1, 32}, {10, 96}, {33, 160}, {7, 768}, {70, 64}};

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> cases = Stream.builder();
        for (DType dtype : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            for (int[] nk : SHAPES) cases.add(Arguments.of(dtype, nk[0], nk[1]));
        }
        for (int[] nk : Q8_SHAPES) cases.add(Arguments.of(DType.Q8, nk[0], nk[1]));
        return cases.build();
    }

    @Test
    void groupsTakeEveryRowOnceAndOnlyTheirLastRowsGoMissing() {
        for (int rows = 1; rows <= 200; rows++) {
            int groups = CpuMatvec.groups(rows);
            int[] seen = new int[rows];
            for (int g = 0; g < groups; g++) {
                int count = CpuMatvec.count(rows, g);
                assertThat(count).as("rows %d group %d", rows, g).isBetween(1, CpuMatvec.ROWS);
                for (int i = 0; i < count; i++) seen[g + i * groups]++;
                if (count < CpuMatvec.ROWS) assertThat(g + count * groups).as("rows %d group %d", rows, g).isGreaterThanOrEqualTo(rows);
            }
            assertThat(seen).as("rows %d", rows).containsOnly(1);
        }
    }

    @ParameterizedTest(name = "{0} N={1} K={2}")
    @MethodSource("cases")
    void matchesAScalarSumOverTheWidenedWeights(DType dtype, int n, int k) {
        try (Arena arena = Arena.ofShared(); CpuBackend cpu = new CpuBackend(2)) {
            Random random = new Random(n * 1000L + k);
            Tensor weight = random(arena, random, n, k).to(arena, dtype);  // w [N, K]
            float[] w = weight.to(arena, DType.F32).toFloatArray();        // its values, widened
            for (int m : BATCHES) {
                Tensor x = random(arena, random, m, k);                     // x [M, K]
                float[] xs = x.toFloatArray(), c = product(cpu, arena, x, weight);
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double sum = 0, scale = 0;
                        for (int t = 0; t < k; t++) {
                            sum += (double) xs[i * k + t] * w[j * k + t];
                            scale += Math.abs((double) xs[i * k + t] * w[j * k + t]);
                        }
                        assertThat(Math.abs(c[i * n + j] - sum)).as("M=%d C[%d, %d]", m, i, j).isLessThanOrEqualTo(1e-5 * scale);
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} N={1} K={2}")
    @MethodSource("cases")
    void aRowGivesTheSameBitsInEveryBatch(DType dtype, int n, int k) {
        try (Arena arena = Arena.ofShared(); CpuBackend cpu = new CpuBackend(2)) {
            Random random = new Random(n * 31L + k);
            Tensor weight = random(arena, random, n, k).to(arena, dtype);   // w [N, K]
            Tensor rows = random(arena, random, CpuMatvec.MAX_ROWS, k);     // x [MAX_ROWS, K]
            float[] all = rows.toFloatArray();
            float[][] alone = new float[CpuMatvec.MAX_ROWS][];
            for (int i = 0; i < alone.length; i++) {
                alone[i] = product(cpu, arena, Tensor.of(arena, Arrays.copyOfRange(all, i * k, (i + 1) * k), 1, k), weight);
            }
            for (int m : BATCHES) {
                for (int first = 0; first + m <= CpuMatvec.MAX_ROWS; first += Math.max(3, m)) { // rows [first, first + m) as a batch
                    Tensor x = Tensor.of(arena, Arrays.copyOfRange(all, first * k, (first + m) * k), m, k);
                    float[] c = product(cpu, arena, x, weight);
                    for (int i = 0; i < m; i++) {
                        assertThat(Arrays.copyOfRange(c, i * n, (i + 1) * n)).as("row %d of a batch of %d", first + i, m)
                                .isEqualTo(alone[first + i]);
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} N={1} K={2}")
    @MethodSource("cases")
    void narrowWeightsGiveTheBitsOfTheirF32ValuesOnAnyThreadCount(DType dtype, int n, int k) {
        try (Arena arena = Arena.ofShared(); CpuBackend one = new CpuBackend(1); CpuBackend three = new CpuBackend(3)) {
            Random random = new Random(n * 7L + k);
            Tensor weight = random(arena, random, n, k).to(arena, dtype);   // w [N, K]
            Tensor widened = weight.to(arena, DType.F32);
            for (int m : new int[] {1, 3, 4, 8, 13, CpuMatvec.MAX_ROWS}) {
                Tensor x = random(arena, random, m, k);
                float[] expected = product(one, arena, x, widened);
                assertThat(product(one, arena, x, weight)).as("M=%d, 1 thread", m).isEqualTo(expected);
                assertThat(product(three, arena, x, weight)).as("M=%d, 3 threads", m).isEqualTo(expected);
            }
        }
    }

    /** x·wᵀ on {@code cpu}, into a C first filled with NaN (beta = 0 must ignore it). */
    private static float[] product(CpuBackend cpu, Arena arena, Tensor x, Tensor weight) {
        Tensor c = Tensor.allocate(arena, DType.F32, x.dim(0), weight.dim(0));
        cpu.fill(c, Float.NaN);
        cpu.matmul(x, false, weight, true, c, 1f, 0f);
        return c.toFloatArray();
    }

    private static Tensor random(Arena arena, Random random, int... shape) {
        float[] values = new float[Arrays.stream(shape).reduce(1, Math::multiplyExact)];
        for (int i = 0; i < values.length; i++) values[i] = (float) random.nextGaussian();
        return Tensor.of(arena, values, shape);
    }
}
