package org.gptneo.backend.cpu;

import static org.gptneo.backend.cpu.CpuVectors.F;
import static org.gptneo.backend.cpu.CpuVectors.LE;
import static org.gptneo.backend.cpu.CpuVectors.VL;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import org.gptneo.backend.MatmulShape;

/**
 * C = alpha·A·Bᵀ + beta·C for a few rows of A: one token's activations times a weight matrix
 * [out, in] during generation. Every output is a dot product of two contiguous rows, so the weights
 * are streamed once, straight from memory, with no packing (which {@link CpuMatmul} needs to reuse
 * B across many rows, and which would cost more than the product here).
 */
final class CpuMatvec {
    /** Up to this many rows of A, a dot product per output beats packing. */
    static final int MAX_ROWS = 4;

    private CpuMatvec() {}

    static boolean applies(MatmulShape s, boolean transposeA, boolean transposeB) {
        return !transposeA && transposeB && s.m() <= MAX_ROWS;
    }

    /** A [batch][m, k] (row-major), B [batch][n, k], C [batch][m, n]; items are the (batch, j) columns of C. */
    static void multiply(CpuParallel pool, StoredRows a, StoredRows b, MemorySegment c, MatmulShape s, float alpha, float beta) {
        int m = s.m(), n = s.n(), k = s.k();
        long items = (long) s.batch() * n;
        pool.over(a.data(), b.data(), c).forRange(items, CpuParallel.grain(2L * m * k), (from, to) -> {
            float[] aRows = new float[m * k];      // op(A) of the current batch entry
            float[] bRow = b.isF32() ? null : new float[k];
            long loadedBatch = -1;
            for (long item = from; item < to; item++) { // C[p][:, j]
                long p = item / n;
                int j = (int) (item % n);
                if (p != loadedBatch) {
                    a.read(p * s.strideA(), aRows, 0, m * k);
                    loadedBatch = p;
                }
                long bAt = p * s.strideB() + (long) j * k;
                if (bRow != null) b.read(bAt, bRow, 0, k);
                for (int i = 0; i < m; i++) {
                    float dot = bRow == null ? dot(aRows, i * k, b.data(), bAt, k) : dot(aRows, i * k, bRow, k);
                    long ci = p * s.strideC() + (long) i * n + j;
                    float old = beta == 0f ? 0f : beta * CpuVectors.get(c, ci);
                    CpuVectors.set(c, ci, alpha * dot + old);
                }
            }
        });
    }

    /** Σ x[xAt + i]·y[yAt + i] for i < k, y read from memory. */
    private static float dot(float[] x, int xAt, MemorySegment y, long yAt, int k) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int end = CpuVectors.bound(k, VL); i < end; i += VL) {
            acc = FloatVector.fromArray(F, x, xAt + i).fma(FloatVector.fromMemorySegment(F, y, (yAt + i) * Float.BYTES, LE), acc);
        }
        float sum = Lanes.sum(acc);
        for (; i < k; i++) sum += x[xAt + i] * CpuVectors.get(y, yAt + i);
        return sum;
    }

    /** Σ x[xAt + i]·y[i] for i < k. */
    private static float dot(float[] x, int xAt, float[] y, int k) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int end = CpuVectors.bound(k, VL); i < end; i += VL) {
            acc = FloatVector.fromArray(F, x, xAt + i).fma(FloatVector.fromArray(F, y, i), acc);
        }
        float sum = Lanes.sum(acc);
        for (; i < k; i++) sum += x[xAt + i] * y[i];
        return sum;
    }
}
