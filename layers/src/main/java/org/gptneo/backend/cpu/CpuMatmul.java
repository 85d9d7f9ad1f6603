package org.gptneo.backend.cpu;

import static org.gptneo.backend.cpu.CpuVectors.F;
import static org.gptneo.backend.cpu.CpuVectors.LE;
import static org.gptneo.backend.cpu.CpuVectors.VL;
import static org.gptneo.backend.cpu.CpuVectors.f32;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import org.gptneo.backend.MatmulShape;
import org.gptneo.tensor.Tensor;

/**
 * C = alpha·op(A)·op(B) + beta·C in the GotoBLAS way. A task owns a block of rows × NC columns of one
 * C matrix and walks K in slabs. For each slab it packs op(B) into NR-column micro-panels ([kc][NR])
 * and then, MC rows at a time, op(A) into MR-row micro-panels ([kc][MR]). Packing turns all four
 * transpose cases into the same contiguous loop: a register-blocked micro-kernel accumulates MR×NR
 * outputs with vector FMAs (A[i, k] broadcast, B[k, j .. j+NR) loaded as two vectors). Panels are
 * zero-padded and stores masked, so odd sizes need no special case.
 */
final class CpuMatmul {
    /** Micro-tile: MR rows × NR columns held in 2·MR vector registers. */
    private static final int MR = 6;
    private static final int NR = 2 * VL;
    /**
     * Deepest slab of K. K is cut into equal slabs of at most KC; the packed A block (MC·KC floats)
     * and B block (NC·KC) then stay in L2, and C is read and written once per slab.
     */
    private static final int KC = 512;
    private static final int MC = 20 * MR;
    private static final int NC = 8 * NR;

    /** The calling thread's buffers, reused across calls. */
    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    private static final class Buffers {
        final float[] packedA = new float[MC * KC];
        final float[] packedB = new float[NC * KC];
        final float[] tile = new float[MR * NR];
        /** One row of an operand on its way into a packed layout. */
        final float[] stage = new float[KC];
    }

    private CpuMatmul() {}

    static void multiply(CpuParallel pool, Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor c,
                         float alpha, float beta) {
        MatmulShape s = MatmulShape.of(a, transposeA, b, transposeB, c);
        if (s.batch() > 1 && s.strideA() == (long) s.m() * s.k() && s.strideB() == 0 && !transposeA) {
            // A [batch, M, K] · B [K, N] (shared) is one [batch·M, K] · [K, N] product
            s = new MatmulShape(1, Math.multiplyExact(s.batch(), s.m()), s.n(), s.k(), 0, 0, 0);
        }
        if (s.batch() == 0 || s.m() == 0 || s.n() == 0) {
            return;
        }
        if (s.k() == 0) {
            if (beta == 0f) CpuElementwise.fill(pool, c, 0f);
            else CpuElementwise.scale(pool, c, beta);
            return;
        }
        if (CpuMatvec.applies(s, transposeA, transposeB)) {
            CpuMatvec.multiply(pool, StoredRows.of(a), StoredRows.of(b), f32(c), s, alpha, beta);
            return;
        }
        new Product(pool, StoredRows.of(a), transposeA, StoredRows.of(b), transposeB, f32(c), s, alpha, beta).run();
    }

    /** One call's operands and geometry; {@link #task} computes one task's part of C. */
    private record Product(CpuParallel pool, StoredRows a, boolean transposeA, StoredRows b, boolean transposeB,
                           MemorySegment c, MatmulShape s, float alpha, float beta) {

        /**
         * Tasks are NC-column strips of C cut into as few row ranges as keep every thread busy: a task
         * packs each slab of B once for all its rows. Each C element is summed over k in the same order
         * whatever the cut, so the result does not depend on the thread count.
         */
        void run() {
            int colBlocks = Math.ceilDiv(s.n(), NC);
            long wantedTasks = 2L * pool.threads();
            int rowBlocks = Math.clamp(Math.ceilDiv(wantedTasks, (long) s.batch() * colBlocks),
                    1, Math.ceilDiv(s.m(), MR));
            int rowsPerTask = Math.ceilDiv(Math.ceilDiv(s.m(), rowBlocks), MR) * MR;
            int taskRows = Math.ceilDiv(s.m(), rowsPerTask);
            long tasks = (long) s.batch() * taskRows * colBlocks;
            long workPerTask = (long) Math.min(rowsPerTask, s.m()) * Math.min(NC, s.n()) * s.k();
            pool.over(a.data(), b.data(), c).forRange(tasks, CpuParallel.grain(workPerTask), (from, to) -> {
                Buffers buffers = BUFFERS.get();
                for (long t = from; t < to; t++) {
                    int p = (int) (t / ((long) taskRows * colBlocks));
                    int rest = (int) (t % ((long) taskRows * colBlocks));
                    int i0 = rest / colBlocks * rowsPerTask;
                    task(p, i0, Math.min(rowsPerTask, s.m() - i0), rest % colBlocks * NC, buffers);
                }
            });
        }

        /** C[p][i0 .. i0+rows, j0 .. j0+NC), clipped to the matrix. */
        private void task(int p, int i0, int rows, int j0, Buffers buf) {
            int nc = Math.min(NC, s.n() - j0);
            long offA = p * s.strideA(), offB = p * s.strideB(), offC = p * s.strideC();
            int slab = Math.ceilDiv(s.k(), Math.ceilDiv(s.k(), KC));
            for (int k0 = 0; k0 < s.k(); k0 += slab) {
                int kc = Math.min(slab, s.k() - k0);
                packB(offB, k0, kc, j0, nc, buf.packedB, buf.stage);
                float sliceBeta = k0 == 0 ? beta : 1f; // later slabs add onto the earlier ones
                for (int ic = i0; ic < i0 + rows; ic += MC) {
                    int mc = Math.min(MC, i0 + rows - ic);
                    packA(offA, ic, mc, k0, kc, buf.packedA, buf.stage);
                    for (int jr = 0; jr < nc; jr += NR) {
                        for (int ir = 0; ir < mc; ir += MR) {
                            microKernel(buf.packedA, ir * kc, buf.packedB, jr * kc, kc, buf.tile);
                            update(buf.tile, c, offC + (long) (ic + ir) * s.n() + j0 + jr, s.n(),
                                    Math.min(MR, mc - ir), Math.min(NR, nc - jr), alpha, sliceBeta);
                        }
                    }
                }
            }
        }

        /** ap [mc/MR panels][kc][MR] = op(A)[i0 .. i0+mc, k0 .. k0+kc), rows past the block zero. */
        private void packA(long off, int i0, int mc, int k0, int kc, float[] ap, float[] stage) {
            int m = s.m(), k = s.k();
            for (int ir = 0; ir < mc; ir += MR) {
                int panel = ir * kc, rows = Math.min(MR, mc - ir);
                if (rows < MR) Arrays.fill(ap, panel, panel + MR * kc, 0f);
                if (!transposeA) { // A [M, K]: row i is contiguous in k
                    for (int r = 0; r < rows; r++) {
                        long src = off + (long) (i0 + ir + r) * k + k0;
                        a.read(src, stage, 0, kc);
                        for (int kk = 0; kk < kc; kk++) ap[panel + kk * MR + r] = stage[kk];
                    }
                } else { // A [K, M]: the panel's rows at one depth are contiguous
                    for (int kk = 0; kk < kc; kk++) {
                        long src = off + (long) (k0 + kk) * m + i0 + ir;
                        a.read(src, ap, panel + kk * MR, rows);
                    }
                }
            }
        }

        /** bp [nc/NR panels][kc][NR] = op(B)[k0 .. k0+kc, j0 .. j0+nc), columns past the block zero. */
        private void packB(long off, int k0, int kc, int j0, int nc, float[] bp, float[] stage) {
            int n = s.n(), k = s.k();
            for (int jr = 0; jr < nc; jr += NR) {
                int panel = jr * kc, width = Math.min(NR, nc - jr);
                if (!transposeB && !b.isF32()) { // B [K, N] in half precision: widen row pieces
                    for (int kk = 0; kk < kc; kk++) {
                        int at = panel + kk * NR;
                        b.read(off + (long) (k0 + kk) * n + j0 + jr, bp, at, width);
                        Arrays.fill(bp, at + width, at + NR, 0f);
                    }
                } else if (!transposeB) { // B [K, N]: the panel's columns at one depth are contiguous
                    for (int kk = 0; kk < kc; kk++) {
                        long src = (off + (long) (k0 + kk) * n + j0 + jr) * Float.BYTES;
                        for (int j = 0; j < NR; j += VL) {
                            VectorMask<Float> valid = F.indexInRange(j, width);
                            FloatVector.fromMemorySegment(F, b.data(), src + (long) j * Float.BYTES, LE, valid)
                                    .intoArray(bp, panel + kk * NR + j);
                        }
                    }
                } else { // B [N, K]: column j of op(B) is row j of B
                    if (width < NR) Arrays.fill(bp, panel, panel + NR * kc, 0f);
                    for (int col = 0; col < width; col++) {
                        long src = off + (long) (j0 + jr + col) * k + k0;
                        b.read(src, stage, 0, kc);
                        for (int kk = 0; kk < kc; kk++) bp[panel + kk * NR + col] = stage[kk];
                    }
                }
            }
        }
    }

    /**
     * tile [MR][NR] = Σ_k ap[k][r]·bp[k][j] over one micro-panel pair. The 12 accumulators are named
     * locals so they stay in registers; they leave only through array stores, never through a call.
     */
    private static void microKernel(float[] ap, int aAt, float[] bp, int bAt, int kc, float[] tile) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int kk = 0; kk < kc; kk++) {
            int ak = aAt + kk * MR, bk = bAt + kk * NR;
            FloatVector b0 = FloatVector.fromArray(F, bp, bk);   // B[k, j .. j+VL)
            FloatVector b1 = FloatVector.fromArray(F, bp, bk + VL);
            FloatVector x = FloatVector.broadcast(F, ap[ak]);     // A[i, k]
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, ap[ak + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(F, ap[ak + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(F, ap[ak + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(F, ap[ak + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(F, ap[ak + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, VL);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + VL);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + VL);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + VL);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + VL);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + VL);
    }

    /**
     * C[rows, cols] at element {@code cAt} (row stride ldc) = alpha·tile + beta·C, reading C only when
     * beta ≠ 0; columns past {@code cols} are masked off.
     */
    private static void update(float[] tile, MemorySegment c, long cAt, int ldc, int rows, int cols,
                               float alpha, float beta) {
        for (int r = 0; r < rows; r++) { // [MR, NR]
            long row = cAt + (long) r * ldc;
            for (int j = 0; j < cols; j += VL) {
                VectorMask<Float> mask = F.indexInRange(j, cols);
                long at = (row + j) * Float.BYTES;
                FloatVector out = FloatVector.fromArray(F, tile, r * NR + j).mul(alpha);
                if (beta != 0f) out = out.add(FloatVector.fromMemorySegment(F, c, at, LE, mask).mul(beta));
                out.intoMemorySegment(c, at, LE, mask);
            }
        }
    }
}
