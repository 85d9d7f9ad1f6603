package org.gptneo.backend.cpu;

import static org.gptneo.backend.cpu.CpuVectors.F;
import static org.gptneo.backend.cpu.CpuVectors.VL;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import org.gptneo.backend.MatmulShape;

/**
 * C = alpha·A·Bᵀ + beta·C for a few rows of A: the activations of a few tokens times a weight matrix
 * [out, in] during generation. Every output is a dot product of two contiguous rows, so the weights
 * are streamed once, straight from memory, with no packing (which {@link CpuMatmul} needs to reuse B
 * across many rows, and which would cost more than the product here). Weight rows are taken
 * {@link #ROWS} at a time, from four far-apart places ({@link #groups}); four activation rows at a
 * time share each loaded weight vector, the rows left over take them one by one. F32 weights, and
 * for up to {@link #DIRECT_ROWS} activation rows BF16 and Q8 weights, are read straight from memory
 * (BF16 and Q8 widened in registers:
 * {@link CpuMatvecTile}, {@link CpuMatvecRow}). BF16 and Q8 for more rows, and weights the direct
 * kernels cannot read (F16, Q8 on vectors under 256 bits), are widened group by group into a
 * per-thread float[] that stays in L1 and that every tile reads. Each output is summed in the same
 * order whichever kernel computes it, and the widening is exact, so a token's result does not depend
 * on the others in the batch.
 */
final class CpuMatvec {
    /**
     * Up to this many rows of A, dot products beat packing: a prompt of up to this many tokens is
     * prefilled through them. `gptneo bench prefill --tokens T` on 125M (last-row logits, ms, up to 8
     * rows against up to 64, 512 for the larger T, alternated twice): F32 T = 16 43-58 against 32-33,
     * T = 48 84-91 against 53-57, T = 96 108-113 against 105-114, T = 192 181-185 against 220; Q8 T = 16
     * 105-124 against 47-56, T = 48 101-112 against 66-73, T = 128 175-235 against 139-146, T = 256 244
     * against 291; BF16 T = 16 67-98 against 30-31, T = 48 106-124 against 61-69, T = 96 129-136 against
     * 123, T = 192 196-199 against 224-227. One bound for every dtype, so that BF16 and Q8 weights keep
     * giving the bits of their F32 values.
     */
    static final int MAX_ROWS = 64;
    /** Weight rows per pass: a group ({@link #groups}). */
    static final int ROWS = 4;
    /**
     * Groups of ROWS weight rows a row of A meets in one call of the one-row kernel, which sums their
     * 4·RUN accumulators together ({@link #sums}): summed one by one, their lanes cost about a third
     * of the kernel's time on weights in cache.
     */
    private static final int RUN = 4;
    /**
     * At least this many groups of ROWS weight rows per piece of the parallel loop: each piece copies
     * the activations [m, k] first, which at m = 8 costs about as much as a group's dot products.
     */
    private static final int MIN_GROUPS_PER_PIECE = 8;
    /**
     * Up to this many activation rows, BF16 and Q8 weights are read by the direct kernels; above it
     * they would be widened once per tile of four rows, and widening them once into the float[] that
     * the tiles share cost less CPU time (one thread, 125M, M = 8). F32 weights, which need no
     * widening, are read directly for every M up to {@link #MAX_ROWS} (the second tile finds them in
     * L1): 125M decoding at batch 8 went from 171-218 to 224-248 tokens/s (3 alternated pairs).
     */
    private static final int DIRECT_ROWS = 4;

    /** Per thread: the activation rows of the current batch entry, widened weight rows, dot products. */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static final class Scratch {
        float[] activations = new float[0];
        float[] weightRows = new float[0];
        final float[] dots = new float[4 * ROWS];
        /** The lanes of each accumulator of a kernel, apart so that their sums overlap. */
        final float[] lanes = new float[4 * ROWS * VL];

        float[] activations(int floats) {
            if (activations.length < floats) activations = new float[floats];
            return activations;
        }

        float[] weightRows(int floats) {
            if (weightRows.length < floats) weightRows = new float[floats];
            return weightRows;
        }
    }

    private CpuMatvec() {}

    static boolean applies(MatmulShape s, boolean transposeA, boolean transposeB) {
        return !transposeA && transposeB && s.m() <= MAX_ROWS;
    }

    /** A [batch][m, k] (row-major), B [batch][n, k], C [batch][m, n]; items are (batch, ROWS columns of C). */
    static void multiply(CpuParallel pool, StoredRows a, StoredRows b, MemorySegment c, MatmulShape s, float alpha, float beta) {
        int m = s.m(), n = s.n(), k = s.k();
        int perBatch = Math.ceilDiv(n, ROWS);
        long items = (long) s.batch() * perBatch;
        boolean direct = (m <= DIRECT_ROWS || b.isF32()) && CpuMatvecRow.applies(b.dtype());
        long minGrain = Math.max(MIN_GROUPS_PER_PIECE, CpuParallel.grain(2L * m * k * ROWS));
        pool.over(a.data(), b.data(), c).forShrinkingRange(items, minGrain, (from, to) -> {
            Scratch scratch = SCRATCH.get();
            float[] x = scratch.activations(m * k); // op(A) of the current batch entry, [m, k]
            for (long item = from; item < to; ) {
                long p = item / perBatch;
                int first = (int) (item % perBatch), last = (int) Math.min(perBatch, first + (to - item));
                a.read(p * s.strideA(), x, 0, m * k);
                int j0 = first * ROWS;
                columns(b, c, s, p, j0, Math.min(last * ROWS, n) - j0, direct, x, scratch, alpha, beta);
                item += last - first;
            }
        });
    }

    /**
     * C[p][:, j0 .. j0 + rows) from the weight rows B[p][j0 .. j0 + rows), taken as {@link #groups}:
     * four rows in step from four far-apart places, each advancing through consecutive rows.
     */
    private static void columns(StoredRows b, MemorySegment c, MatmulShape s, long p, int j0, int rows, boolean direct,
            float[] x, Scratch scratch, float alpha, float beta) {
        int m = s.m(), n = s.n(), k = s.k(), groups = groups(rows);
        long w0 = p * s.strideB() + (long) j0 * k; // B[p][j0, 0]
        long c0 = p * s.strideC() + j0;            // C[p][0, j0]
        long stride = (long) groups * k;           // between the rows of a group
        float[] w = scratch.weightRows(ROWS * k);  // a group's rows widened, [ROWS, k]; rows past count are stale
        float[] dots = scratch.dots, lanes = scratch.lanes;
        int tiled = direct ? m - m % 4 : m;        // activation rows through the 4 × 4 tiles (or the buffer)
        for (int g0 = 0; g0 < groups; g0 += RUN) {
            int run = Math.min(RUN, groups - g0);
            for (int g = g0; g < g0 + run; g++) {
                int count = count(rows, g);
                if (!direct) {
                    for (int r = 0; r < count; r++) b.read(w0 + (long) g * k + r * stride, w, r * k, k);
                }
                int i = 0;
                for (; i + 4 <= tiled; i += 4) {
                    if (direct) CpuMatvecTile.dots(b.dtype(), x, i * k, b.data(), w0 + (long) g * k, stride, count, k, dots, lanes);
                    else dots4x4(x, i * k, w, k, scratch);
                    for (int r = 0; r < 4; r++) store(c, c0 + (long) (i + r) * n + g, dots, r * ROWS, count, groups, alpha, beta);
                }
                for (; i < tiled; i++) {
                    dots1x4(x, i * k, w, k, scratch);
                    store(c, c0 + (long) i * n + g, dots, 0, count, groups, alpha, beta);
                }
            }
            for (int i = tiled; i < m; i++) { // the other activation rows against the whole run at once
                CpuMatvecRow.dots(b.dtype(), x, i * k, b.data(), w0, rows, g0, run, k, dots, lanes);
                for (int g = g0; g < g0 + run; g++) {
                    store(c, c0 + (long) i * n + g, dots, (g - g0) * ROWS, count(rows, g), groups, alpha, beta);
                }
            }
        }
    }

    /**
     * How many groups {@code rows} consecutive weight rows form: ⌈rows / ROWS⌉ = G, group g holding
     * the rows g, g + G, g + 2G, ... ({@link #count} of them). The kernels read a group's rows side by
     * side, so a thread streams from four far-apart places that each advance row after row; read as
     * four adjacent rows, the streams interleave within a page and the hardware prefetchers fall
     * behind: Q8 weights streamed from memory (106 MB of 3072 × 768 rows) on one core at 12 G weights/s
     * that way, against 24 with the rows a quarter apart, and 30-31 in L2 either way (the same loop,
     * alternated in one process).
     */
    static int groups(int rows) {
        return Math.ceilDiv(rows, ROWS);
    }

    /** The number of rows in group {@code g} of {@link #groups}(rows): g + i·G < rows, at most ROWS. */
    static int count(int rows, int g) {
        return Math.min(ROWS, (rows - 1 - g) / groups(rows) + 1);
    }

    /** dots[r] = Σ x[xAt + t]·w[r·k + t] for t < k and r < 4: {@link CpuMatvecRow}'s chains, on the buffer. */
    private static void dots1x4(float[] x, int xAt, float[] w, int k, Scratch scratch) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int t = 0;
        for (int end = CpuVectors.bound(k, VL); t < end; t += VL) {
            FloatVector xv = FloatVector.fromArray(F, x, xAt + t);
            s0 = FloatVector.fromArray(F, w, t).fma(xv, s0);
            s1 = FloatVector.fromArray(F, w, k + t).fma(xv, s1);
            s2 = FloatVector.fromArray(F, w, 2 * k + t).fma(xv, s2);
            s3 = FloatVector.fromArray(F, w, 3 * k + t).fma(xv, s3);
        }
        float[] dots = scratch.dots, lanes = scratch.lanes;
        dots[0] = sum(s0, lanes, 0) + tail(x, xAt, w, 0, t, k);
        dots[1] = sum(s1, lanes, 1) + tail(x, xAt, w, k, t, k);
        dots[2] = sum(s2, lanes, 2) + tail(x, xAt, w, 2 * k, t, k);
        dots[3] = sum(s3, lanes, 3) + tail(x, xAt, w, 3 * k, t, k);
    }

    /**
     * As {@link #dots1x4} for four activation rows at once (x rows at xAt + a·k): each weight vector
     * loaded is used four times, so batched decoding is not bound by loads. dots[a·ROWS + r]. The same
     * chains as {@link CpuMatvecTile}'s, on the buffer.
     */
    private static void dots4x4(float[] x, int xAt, float[] w, int k, Scratch scratch) {
        FloatVector s00 = FloatVector.zero(F), s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00, s12 = s00, s13 = s00,
                s20 = s00, s21 = s00, s22 = s00, s23 = s00, s30 = s00, s31 = s00, s32 = s00, s33 = s00;
        int x1 = xAt + k, x2 = xAt + 2 * k, x3 = xAt + 3 * k;
        int t = 0;
        for (int end = CpuVectors.bound(k, VL); t < end; t += VL) {
            FloatVector w0 = FloatVector.fromArray(F, w, t), w1 = FloatVector.fromArray(F, w, k + t);
            FloatVector w2 = FloatVector.fromArray(F, w, 2 * k + t), w3 = FloatVector.fromArray(F, w, 3 * k + t);
            FloatVector xv = FloatVector.fromArray(F, x, xAt + t);
            s00 = w0.fma(xv, s00); s01 = w1.fma(xv, s01); s02 = w2.fma(xv, s02); s03 = w3.fma(xv, s03);
            xv = FloatVector.fromArray(F, x, x1 + t);
            s10 = w0.fma(xv, s10); s11 = w1.fma(xv, s11); s12 = w2.fma(xv, s12); s13 = w3.fma(xv, s13);
            xv = FloatVector.fromArray(F, x, x2 + t);
            s20 = w0.fma(xv, s20); s21 = w1.fma(xv, s21); s22 = w2.fma(xv, s22); s23 = w3.fma(xv, s23);
            xv = FloatVector.fromArray(F, x, x3 + t);
            s30 = w0.fma(xv, s30); s31 = w1.fma(xv, s31); s32 = w2.fma(xv, s32); s33 = w3.fma(xv, s33);
        }
        float[] dots = scratch.dots, lanes = scratch.lanes;
        s00.intoArray(lanes, 0); s01.intoArray(lanes, VL); s02.intoArray(lanes, 2 * VL); s03.intoArray(lanes, 3 * VL);
        s10.intoArray(lanes, 4 * VL); s11.intoArray(lanes, 5 * VL); s12.intoArray(lanes, 6 * VL); s13.intoArray(lanes, 7 * VL);
        s20.intoArray(lanes, 8 * VL); s21.intoArray(lanes, 9 * VL); s22.intoArray(lanes, 10 * VL); s23.intoArray(lanes, 11 * VL);
        s30.intoArray(lanes, 12 * VL); s31.intoArray(lanes, 13 * VL); s32.intoArray(lanes, 14 * VL); s33.intoArray(lanes, 15 * VL);
        sums(lanes, dots);
        for (int a = 0; a < 4; a++) {
            for (int r = 0; r < ROWS; r++) dots[a * ROWS + r] += tail(x, xAt + a * k, w, r * k, t, k);
        }
    }

    /**
     * Σ lanes of v in lane order, as {@link Lanes#sum}, through slot {@code slot} of a reused array
     * (each accumulator has its own slot, so the sums do not wait on each other's stores).
     */
    private static float sum(FloatVector v, float[] lanes, int slot) {
        v.intoArray(lanes, slot * VL);
        return stored(lanes, slot);
    }

    /**
     * dots[i] = Σ lanes of the accumulator stored at lanes[i·VL ..], in lane order, for the 16 a tile
     * keeps: all at once by a register transpose ({@link Transpose16#laneSums}) where vectors have 16
     * lanes, one by one elsewhere; the same bits either way.
     */
    static void sums(float[] lanes, float[] dots) {
        if (Transpose16.applies()) {
            Transpose16.laneSums(lanes, dots);
        } else {
            for (int i = 0; i < 4 * ROWS; i++) dots[i] = stored(lanes, i);
        }
    }

    /** Σ lanes[slot·VL + l] for l < VL, in lane order from 0. */
    private static float stored(float[] lanes, int slot) {
        int at = slot * VL;
        float total = 0f;
        for (int l = 0; l < VL; l++) total += lanes[at + l];
        return total;
    }

    /** Σ x[xAt + t]·w[row + t] for from ≤ t < k: what the vector loop left. */
    private static float tail(float[] x, int xAt, float[] w, int row, int from, int k) {
        float sum = 0f;
        for (int t = from; t < k; t++) sum += x[xAt + t] * w[row + t];
        return sum;
    }

    /** C[ci .. ci + count) = alpha·dots[at ..] + beta·C (also {@link CpuVecmat}'s row store). */
    static void store(MemorySegment c, long ci, float[] dots, int at, int count, float alpha, float beta) {
        store(c, ci, dots, at, count, 1, alpha, beta);
    }

    /** C[ci + r·step] = alpha·dots[at + r] + beta·C[ci + r·step] for r < count. */
    private static void store(MemorySegment c, long ci, float[] dots, int at, int count, int step, float alpha, float beta) {
        for (int r = 0; r < count; r++) {
            long index = ci + (long) r * step;
            float old = beta == 0f ? 0f : beta * CpuVectors.get(c, index);
            CpuVectors.set(c, index, alpha * dots[at + r] + old);
        }
    }
}
