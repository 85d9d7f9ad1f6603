package org.gptneo.backend.conformance;

import static org.gptneo.backend.conformance.ConformanceCase.kernel;

import java.util.ArrayList;
import java.util.List;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * matmul against the reference: every transpose layout, batching and (alpha, beta); an empty inner
 * dimension; half-precision weights; operands that are strided views of a KV cache; bad shapes.
 */
final class MatmulCases {
    private MatmulCases() {}

    /**
     * {M, N, K}: odd sizes, ones big enough to be split over threads, and ones past the CPU kernel's
     * blocking: K over two slabs, M over several row blocks, N over two packed column blocks; and
     * few-row products (the matrix-vector path) with ragged weight-row groups.
     */
    private static final int[][] SIZES = {
        {1, 1, 1}, {3, 7, 17}, {2, 70, 131}, {4, 5, 64}, {17, 33, 7}, {65, 3, 33}, {33, 130, 65}, {250, 300, 9}, {20, 40, 600},
        {125, 40, 515}, {7, 2085, 33}, {1, 203, 769}, {8, 9, 47}
    };
    /** {alpha, beta}: beta = 0 must ignore C, even NaN. */
    private static final float[][] ALPHA_BETA = {{1f, 0f}, {0.5f, -1.5f}, {-2f, 1f}};

    /** How the operands' leading dimensions look: plain matrices, batched, or one side shared. */
    private enum Batching {
        NONE(false, false), BOTH(true, true), SHARED_A(false, true), SHARED_B(true, false);

        final boolean batchedA, batchedB;

        Batching(boolean batchedA, boolean batchedB) {
            this.batchedA = batchedA;
            this.batchedB = batchedB;
        }
    }

    static List<ConformanceCase> all() {
        List<ConformanceCase> cases = new ArrayList<>();
        for (int[] s : SIZES) {
            for (boolean ta : new boolean[] {false, true}) {
                for (boolean tb : new boolean[] {false, true}) {
                    cases.add(kernel("matmul M=%d N=%d K=%d transposeA=%b transposeB=%b".formatted(s[0], s[1], s[2], ta, tb),
                            h -> everyBatchingAndScale(h, s[0], s[1], s[2], ta, tb)));
                }
            }
        }
        cases.add(kernel("matmul with an empty inner dimension scales C", MatmulCases::emptyInnerDimension));
        cases.add(kernel("matmul rejects mismatched shapes", h -> Expect.thrown(IllegalArgumentException.class,
                () -> h.candidate().backend().matmul(h.candidate().on(h.random(3, 4)), false,
                        h.candidate().on(h.random(5, 6)), false, h.candidate().fresh(h.random(3, 6)), 1f, 0f),
                "A [3, 4] · B [5, 6]")));
        for (DType dtype : new DType[] {DType.BF16, DType.F16}) {
            cases.add(kernel("matmul widens " + dtype + " weights exactly", h -> halfPrecisionWeights(h, dtype)));
        }
        for (int m : new int[] {1, 5, 9}) {
            cases.add(kernel("matmul widens Q8 weights exactly, M=" + m, h -> q8Weights(h, m)));
        }
        for (DType dtype : new DType[] {DType.BF16, DType.F16, DType.Q8}) {
            cases.add(kernel("matmul with " + dtype + " weights at decode sizes", h -> decodeSizes(h, dtype)));
        }
        cases.addAll(StridedMatmulCases.all());
        return cases;
    }

    private static void everyBatchingAndScale(Harness h, int m, int n, int k, boolean ta, boolean tb) {
        for (Batching batching : Batching.values()) {
            int batch = batching == Batching.NONE ? 1 : 3;
            Tensor a = h.random(batched(batching.batchedA, batch, ta ? k : m, ta ? m : k)); // [(3,) M, K] or [(3,) K, M]
            Tensor b = h.random(batched(batching.batchedB, batch, tb ? n : k, tb ? k : n)); // [(3,) K, N] or [(3,) N, K]
            int[] cShape = batched(batching != Batching.NONE, batch, m, n);                 // [(3,) M, N]
            for (float[] ab : ALPHA_BETA) {
                Tensor start = h.random(cShape);
                if (ab[1] == 0f) h.reference().backend().fill(start, Float.NaN);
                h.check("matmul %s alpha=%s beta=%s".formatted(batching, ab[0], ab[1]), start,
                        (side, c) -> side.backend().matmul(side.on(a), ta, side.on(b), tb, c, ab[0], ab[1]));
            }
        }
    }

    private static void emptyInnerDimension(Harness h) {
        Tensor a = h.random(4, 0), b = h.random(0, 5); // K = 0: C = beta·C
        for (float beta : new float[] {0f, 2f}) {
            h.checkIdentical("K = 0, beta " + beta, h.random(4, 5),
                    (side, c) -> side.backend().matmul(side.on(a), false, side.on(b), false, c, 1f, beta));
        }
    }

    private static void halfPrecisionWeights(Harness h, DType dtype) {
        Tensor x = h.random(5, 33), weight = h.as(dtype, h.random(17, 33)); // x [5, 33], w [17, 33]
        h.check("x·wᵀ with " + dtype + " w", h.random(5, 17),
                (side, c) -> side.backend().matmul(side.on(x), false, side.on(weight), true, c, 1f, 0f));
        Tensor notTransposed = h.as(dtype, h.random(33, 17));                 // w [33, 17]
        h.check("x·w with " + dtype + " w", h.random(5, 17),
                (side, c) -> side.backend().matmul(side.on(x), false, side.on(notTransposed), false, c, 1f, 0f));
    }

    /** Q8 rows are whole blocks of 32: K = 96; N = 19 leaves a ragged group of weight rows. */
    private static void q8Weights(Harness h, int m) {
        Tensor x = h.random(m, 96), weight = h.as(DType.Q8, h.random(19, 96)); // x [M, 96], w [19, 96]
        h.check("x·wᵀ with Q8 w", h.random(m, 19),
                (side, c) -> side.backend().matmul(side.on(x), false, side.on(weight), true, c, 1f, 0f));
        Tensor notTransposed = h.as(DType.Q8, h.random(96, 32));                 // w [96, 32]
        h.check("x·w with Q8 w", h.random(m, 32),
                (side, c) -> side.backend().matmul(side.on(x), false, side.on(notTransposed), false, c, 1f, 0f));
    }

    /**
     * x·wᵀ for M = 1..9 (a few-row kernel may stop at 8) with w [N, K] narrow. K is ragged: 173 and 45 for
     * BF16 and F16 (odd, one above 128 and one below); Q8 rows are whole blocks, so 160 and 96
     * (odd numbers of blocks). N = 10 leaves a ragged group of weight rows. Then x [2, 3, K] with w shared.
     */
    private static void decodeSizes(Harness h, DType dtype) {
        int[][] shapes = dtype == DType.Q8 ? new int[][] {{32, 160}, {10, 96}} : new int[][] {{32, 173}, {10, 45}}; // {N, K}
        for (int[] nk : shapes) {
            int n = nk[0], k = nk[1];
            Tensor weight = h.as(dtype, h.random(n, k));                                  // w [N, K]
            for (int m = 1; m <= 9; m++) {
                Tensor x = h.random(m, k);                                                // x [M, K]
                float[] ab = ALPHA_BETA[m % ALPHA_BETA.length];
                Tensor start = h.random(m, n);
                if (ab[1] == 0f) h.reference().backend().fill(start, Float.NaN);
                h.check("x·wᵀ M=%d N=%d K=%d alpha=%s beta=%s".formatted(m, n, k, ab[0], ab[1]), start,
                        (side, c) -> side.backend().matmul(side.on(x), false, side.on(weight), true, c, ab[0], ab[1]));
            }
            Tensor x = h.random(2, 3, k);                                                 // x [2, 3, K]
            h.check("x [2, 3, %d]·wᵀ".formatted(k), h.random(2, 3, n),
                    (side, c) -> side.backend().matmul(side.on(x), false, side.on(weight), true, c, 1f, 0f));
        }
    }

    private static int[] batched(boolean batched, int batch, int rows, int cols) {
        return batched ? new int[] {batch, rows, cols} : new int[] {rows, cols};
    }
}
