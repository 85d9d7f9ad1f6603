package org.gptneo.backend.cpu;

import static org.gptneo.backend.cpu.CpuVectors.VL;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import org.gptneo.backend.MatmulShape;
import org.gptneo.tensor.DType;

/**
 * C = alpha·A·Bᵀ + beta·C for a few rows of A: the activations of a few tokens times a weight matrix
 * [out, in] during generation. Every output is a dot product of two contiguous rows, so the weights
 * are streamed once, straight from memory, with no packing (which {@link CpuMatmul} needs to reuse B
 * across many rows, and which would cost more than the product here). Weight rows are taken
 * {@link #ROWS} at a time; four activation rows at a time share each loaded weight vector
 * ({@link CpuMatvecTile}), the rows left over take them one by one ({@link CpuMatvecRow}). F32
 * weights are always read straight from memory, and so are BF16 and Q8 ones, widened in registers,
 * for up to {@link #DIRECT_ROWS} activation rows. Above that, and for weights the kernels cannot read
 * (F16, and Q8 on vectors under 256 bits), each group is widened first into a per-thread F32 buffer
 * that stays in L1. Each output is summed in the same order whichever kernel computes it and from
 * wherever its weights come, so a token's result does not depend on the others in the batch.
 */
final class CpuMatvec {
    /** Up to this many rows of A, dot products beat packing. */
    static final int MAX_ROWS = 8;
    /** Weight rows per pass. */
    static final int ROWS = 4;
    /**
     * At least this many groups of ROWS weight rows per piece of the parallel loop: each piece copies
     * the activations [m, k] first, which at m = 8 costs about as much as a group's dot products.
     */
    private static final int MIN_GROUPS_PER_PIECE = 8;
    /**
     * Up to this many activation rows, narrow weights are widened in registers by the kernels; above
     * it, each weight would be widened once per tile of four rows, and widening it once into the F32
     * buffer that all the tiles share costs less (BF16 and Q8 at M = 8: 1.4× the FMAs per second).
     */
    private static final int DIRECT_ROWS = 4;

    /** Per thread: the activation rows of the current batch entry, widened weight rows, dot products. */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static final class Scratch {
        float[] activations = new float[0];
        /** Widened weight rows [ROWS, k], and the same floats as a segment for the kernels' loads. */
        float[] weightRows = new float[0];
        MemorySegment weightSegment = MemorySegment.ofArray(weightRows);
        final float[] dots = new float[4 * ROWS];
        /** The lanes of each accumulator of a kernel, apart so that their sums overlap. */
        final float[] lanes = new float[4 * ROWS * VL];

        float[] activations(int floats) {
            if (activations.length < floats) activations = new float[floats];
            return activations;
        }

        float[] weightRows(int floats) {
            if (weightRows.length < floats) {
                weightRows = new float[floats];
                weightSegment = MemorySegment.ofArray(weightRows);
            }
            return weightRows;
        }
    }

    private CpuMatvec() {}

    static boolean applies(MatmulShape s, boolean transposeA, boolean transposeB) {
        return !transposeA && transposeB && s.m() <= MAX_ROWS;
    }

    /** A [batch][m, k] (row-major), B [batch][n, k], C [batch][m, n]; items are (batch, group of ROWS columns of C). */
    static void multiply(CpuParallel pool, StoredRows a, StoredRows b, MemorySegment c, MatmulShape s, float alpha, float beta) {
        int m = s.m(), n = s.n(), k = s.k();
        int groups = Math.ceilDiv(n, ROWS);
        long items = (long) s.batch() * groups;
        boolean direct = b.isF32() || m <= DIRECT_ROWS && CpuMatvecRow.applies(b.dtype());
        DType kernelType = direct ? b.dtype() : DType.F32;
        long grain = Math.max(MIN_GROUPS_PER_PIECE, CpuParallel.grain(2L * m * k * ROWS));
        pool.over(a.data(), b.data(), c).forRange(items, grain, (from, to) -> {
            Scratch scratch = SCRATCH.get();
            float[] x = scratch.activations(m * k); // op(A) of the current batch entry, [m, k]
            float[] dots = scratch.dots, lanes = scratch.lanes;
            long loadedBatch = -1;
            for (long item = from; item < to; item++) {
                long p = item / groups;
                int j0 = (int) (item % groups) * ROWS, count = Math.min(ROWS, n - j0);
                if (p != loadedBatch) {
                    a.read(p * s.strideA(), x, 0, m * k);
                    loadedBatch = p;
                }
                long w0 = p * s.strideB() + (long) j0 * k; // B[p][j0, 0]
                long c0 = p * s.strideC() + j0;            // C[p][0, j0]
                MemorySegment w = b.data();
                if (!direct) {                             // B[p][j0 .. j0 + count) as floats, [count, k]
                    b.read(w0, scratch.weightRows(ROWS * k), 0, count * k);
                    w = scratch.weightSegment;
                    w0 = 0;
                }
                int i = 0;
                for (; i + 4 <= m; i += 4) {
                    CpuMatvecTile.dots(kernelType, x, i * k, w, w0, count, k, dots, lanes);
                    for (int r = 0; r < 4; r++) store(c, c0 + (long) (i + r) * n, dots, r * ROWS, count, alpha, beta);
                }
                for (; i < m; i++) {
                    CpuMatvecRow.dots(kernelType, x, i * k, w, w0, count, k, dots, lanes);
                    store(c, c0 + (long) i * n, dots, 0, count, alpha, beta);
                }
            }
        });
    }

    /**
     * Σ lanes of v in lane order, as {@link Lanes#sum}, through slot {@code slot} of a reused array
     * (each accumulator has its own slot, so the sums do not wait on each other's stores).
     */
    static float sum(FloatVector v, float[] lanes, int slot) {
        int at = slot * VL;
        v.intoArray(lanes, at);
        float total = 0f;
        for (int l = 0; l < VL; l++) total += lanes[at + l];
        return total;
    }

    /** C[ci .. ci + count) = alpha·dots[at ..] + beta·C (also {@link CpuVecmat}'s row store). */
    static void store(MemorySegment c, long ci, float[] dots, int at, int count, float alpha, float beta) {
        for (int r = 0; r < count; r++) {
            float old = beta == 0f ? 0f : beta * CpuVectors.get(c, ci + r);
            CpuVectors.set(c, ci + r, alpha * dots[at + r] + old);
        }
    }
}
