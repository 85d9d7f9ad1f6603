package org.gptneo.backend.cpu;

import static org.gptneo.backend.cpu.CpuVectors.F;
import static org.gptneo.backend.cpu.CpuVectors.LE;
import static org.gptneo.backend.cpu.CpuVectors.VL;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import org.gptneo.backend.MatmulShape;
import org.gptneo.tensor.DType;

/**
 * C = alpha·A·B + beta·C for a few rows of A with B not transposed: during generation, attention
 * probabilities [1, S] times the cached values [S, hs]. Each output row is a weighted sum of B's rows,
 * accumulated in B's row order into a per-thread buffer, so B streams once with no packing (which
 * {@link CpuMatmul} would redo on every call) and a row's result does not depend on the others.
 */
final class CpuVecmat {
    /** Up to this many rows of A (its accumulators, [MAX_ROWS, COLUMNS], stay in L1). */
    static final int MAX_ROWS = 8;
    /** Columns of C per item: the accumulators of every row of A stay in L1. */
    private static final int COLUMNS = 512;

    /** Per thread: the current batch entry's A, the accumulators [m, COLUMNS] and one row of B widened. */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static final class Scratch {
        float[] a = new float[0];
        float[] sums = new float[0];
        final float[] row = new float[COLUMNS];

        float[] a(int floats) {
            if (a.length < floats) a = new float[floats];
            return a;
        }

        float[] sums(int floats) {
            if (sums.length < floats) sums = new float[floats];
            return sums;
        }
    }

    private CpuVecmat() {}

    static boolean applies(MatmulShape s, boolean transposeA, boolean transposeB) {
        return !transposeA && !transposeB && s.m() <= MAX_ROWS;
    }

    /** A [batch][m, k], B [batch][k, n], C [batch][m, n] (all row-major); items are (batch, block of COLUMNS columns). */
    static void multiply(CpuParallel pool, StoredRows a, StoredRows b, MemorySegment c, MatmulShape s, float alpha, float beta) {
        int m = s.m(), n = s.n(), k = s.k();
        int blocks = Math.ceilDiv(n, COLUMNS);
        long items = (long) s.batch() * blocks;
        boolean f32 = b.dtype() == DType.F32;
        pool.over(a.data(), b.data(), c).forRange(items, CpuParallel.grain(2L * m * k * Math.min(n, COLUMNS)), (from, to) -> {
            Scratch scratch = SCRATCH.get();
            float[] x = scratch.a(m * k);                 // A[p], [m, k]
            float[] sums = scratch.sums(m * COLUMNS);     // C[p][:, j0 .. j0 + width), [m, COLUMNS]
            long loadedBatch = -1;
            for (long item = from; item < to; item++) {
                long p = item / blocks;
                int j0 = (int) (item % blocks) * COLUMNS, width = Math.min(COLUMNS, n - j0);
                if (p != loadedBatch) {
                    a.read(p * s.strideA(), x, 0, m * k);
                    loadedBatch = p;
                }
                Arrays.fill(sums, 0, m * COLUMNS, 0f);
                for (int kk = 0; kk < k; kk++) {
                    long rowAt = p * s.strideB() + (long) kk * n + j0; // B[p][kk, j0]
                    if (f32) {
                        for (int i = 0; i < m; i++) addScaledF32(sums, i * COLUMNS, x[i * k + kk], b.data(), rowAt, width);
                    } else {
                        b.read(rowAt, scratch.row, 0, width);
                        for (int i = 0; i < m; i++) addScaled(sums, i * COLUMNS, x[i * k + kk], scratch.row, width);
                    }
                }
                for (int i = 0; i < m; i++) CpuMatvec.store(c, p * s.strideC() + (long) i * n + j0, sums, i * COLUMNS, width, alpha, beta);
            }
        });
    }

    /** sums[at .. at + width) += scale · B[row .. row + width) (F32, read in place). */
    private static void addScaledF32(float[] sums, int at, float scale, MemorySegment b, long row, int width) {
        FloatVector scaleV = FloatVector.broadcast(F, scale);
        int j = 0;
        for (int end = CpuVectors.bound(width, VL); j < end; j += VL) {
            FloatVector sum = FloatVector.fromArray(F, sums, at + j);
            FloatVector.fromMemorySegment(F, b, (row + j) * Float.BYTES, LE).fma(scaleV, sum).intoArray(sums, at + j);
        }
        for (; j < width; j++) sums[at + j] = Math.fma(CpuVectors.get(b, row + j), scale, sums[at + j]);
    }

    /** sums[at .. at + width) += scale · row[0 .. width). */
    private static void addScaled(float[] sums, int at, float scale, float[] row, int width) {
        FloatVector scaleV = FloatVector.broadcast(F, scale);
        int j = 0;
        for (int end = CpuVectors.bound(width, VL); j < end; j += VL) {
            FloatVector.fromArray(F, row, j).fma(scaleV, FloatVector.fromArray(F, sums, at + j)).intoArray(sums, at + j);
        }
        for (; j < width; j++) sums[at + j] = Math.fma(row[j], scale, sums[at + j]);
    }
}
