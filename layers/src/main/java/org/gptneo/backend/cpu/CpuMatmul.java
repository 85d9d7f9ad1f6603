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
 * C = alpha·op(A)·op(B) + beta·C in the GotoBLAS way. K is walked in slabs; for each slab and each
 * block of up to NB columns, all threads first pack op(B) together into NR-column micro-panels
 * ([kc][NR], shared), then each task packs its own rows of op(A) into MR-row micro-panels ([kc][MR])
 * and runs the register-blocked micro-kernel over them: MR×NR outputs accumulated with vector FMAs
 * (A[i, k] broadcast, B[k, j .. j+NR) loaded as two vectors). Packing turns all four transpose cases
 * into the same contiguous loop, panels are zero-padded and stores masked, so odd sizes need no
 * special case. Each operand is packed about once per call: B once per slab, A once per slab and
 * column block (more only when a few rows are split over threads by columns).
 */
final class CpuMatmul {
    /** Micro-tile: MR rows × NR columns held in 2·MR vector registers. */
    private static final int MR = 6;
    private static final int NR = 2 * VL;
    /**
     * Deepest slab of K. K is cut into equal slabs of at most KC; an A micro-panel (MR·KC floats)
     * then stays in L1 while the B micro-panels stream past it from L2.
     */
    private static final int KC = 512;
    /** Most rows of A a task packs: its A block (MC·KC floats) stays in L2. */
    private static final int MC = 20 * MR;
    /** Columns of B a task sweeps per A micro-panel: that part of the packed B block stays in L2. */
    private static final int NC = 8 * NR;
    /** Columns of B packed together per slab: the shared packed block (NB·KC floats) stays in L3. */
    private static final int NB = 64 * NR;

    /** Depths of a transposed operand moved per pass: the rows written (DEPTHS·NR floats) stay in L1. */
    private static final int DEPTHS = 64;

    /** The calling thread's buffers, reused across calls. */
    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    private static final class Buffers {
        final float[] packedA = new float[MC * KC];
        /** The packed B block of the calls this thread makes, read by every thread of the call. */
        float[] packedB = new float[0];
        final float[] tile = new float[MR * NR];
        /** One row of an operand on its way into a packed layout. */
        final float[] stage = new float[KC];

        float[] packedB(int floats) {
            if (packedB.length < floats) packedB = new float[floats];
            return packedB;
        }
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
        if (CpuVecmat.applies(s, transposeA, transposeB)) {
            CpuVecmat.multiply(pool, StoredRows.of(a), StoredRows.of(b), f32(c), s, alpha, beta);
            return;
        }
        new Product(pool.over(a.data(), b.data(), c.data()), StoredRows.of(a), transposeA, StoredRows.of(b), transposeB,
                f32(c), s, alpha, beta).run();
    }

    /** One call's operands and geometry. */
    private record Product(CpuParallel pool, StoredRows a, boolean transposeA, StoredRows b, boolean transposeB,
                           MemorySegment c, MatmulShape s, float alpha, float beta) {

        /**
         * For each batch entry, column block and slab: pack the B block (threads share the panels),
         * then compute row tasks × column ranges. There are at least two tasks per thread where the
         * rows allow; a C element is summed over k in the same order whatever the cut, so the result
         * does not depend on the thread count.
         */
        void run() {
            int slab = Math.ceilDiv(s.k(), Math.ceilDiv(s.k(), KC));
            int wanted = 2 * pool.threads();
            int rowTasks = Math.clamp(Math.max(Math.ceilDiv(s.m(), MC), wanted), 1, Math.ceilDiv(s.m(), MR));
            int rowsPerTask = Math.min(MC, Math.ceilDiv(Math.ceilDiv(s.m(), rowTasks), MR) * MR);
            int taskRows = Math.ceilDiv(s.m(), rowsPerTask);
            float[] packedB = BUFFERS.get().packedB(NB * slab);
            for (int p = 0; p < s.batch(); p++) {
                for (int jb = 0; jb < s.n(); jb += NB) {
                    int nb = Math.min(NB, s.n() - jb);
                    int panels = Math.ceilDiv(nb, NR);
                    int colTasks = Math.clamp(Math.ceilDiv(wanted, taskRows), 1, panels);
                    int panelsPerTask = Math.ceilDiv(panels, colTasks);
                    for (int k0 = 0; k0 < s.k(); k0 += slab) {
                        int kc = Math.min(slab, s.k() - k0), batchEntry = p, block = jb, depth = k0;
                        float sliceBeta = k0 == 0 ? beta : 1f; // later slabs add onto the earlier ones
                        pool.forRange(panels, CpuParallel.grain((long) NR * kc), (from, to) -> {
                            float[] stage = BUFFERS.get().stage;
                            for (long panel = from; panel < to; panel++) {
                                packB(batchEntry, depth, kc, block + (int) panel * NR, Math.min(NR, nb - (int) panel * NR),
                                        packedB, (int) panel * NR * kc, stage);
                            }
                        });
                        long tasks = (long) taskRows * colTasks;
                        long workPerTask = 2L * rowsPerTask * Math.min(nb, panelsPerTask * NR) * kc;
                        pool.forRange(tasks, CpuParallel.grain(workPerTask), (from, to) -> {
                            Buffers buffers = BUFFERS.get();
                            for (long t = from; t < to; t++) {
                                int i0 = (int) (t / colTasks) * rowsPerTask;
                                int firstPanel = (int) (t % colTasks) * panelsPerTask;
                                int lastPanel = Math.min(panels, firstPanel + panelsPerTask);
                                if (firstPanel >= lastPanel) continue;
                                task(batchEntry, i0, Math.min(rowsPerTask, s.m() - i0), depth, kc, packedB, block, nb,
                                        firstPanel, lastPanel, sliceBeta, buffers);
                            }
                        });
                    }
                }
            }
        }

        /**
         * Adds slab [k0, k0 + kc) of C[p][i0 .. i0+rows, columns of B panels [firstPanel, lastPanel)
         * of the block starting at column jb]: packs the rows of A, then sweeps the panels NC columns
         * at a time so that part of packed B stays in L2 while each A micro-panel sits in L1.
         */
        private void task(int p, int i0, int rows, int k0, int kc, float[] packedB, int jb, int nb,
                          int firstPanel, int lastPanel, float sliceBeta, Buffers buf) {
            long offC = p * s.strideC();
            packA(p * s.strideA(), i0, rows, k0, kc, buf.packedA, buf.stage);
            for (int sweep = firstPanel; sweep < lastPanel; sweep += NC / NR) {
                int sweepEnd = Math.min(lastPanel, sweep + NC / NR);
                for (int ir = 0; ir < rows; ir += MR) {
                    for (int panel = sweep; panel < sweepEnd; panel++) {
                        int jr = panel * NR;
                        microKernel(buf.packedA, ir * kc, packedB, jr * kc, kc, buf.tile);
                        update(buf.tile, c, offC + (long) (i0 + ir) * s.n() + jb + jr, s.n(),
                                Math.min(MR, rows - ir), Math.min(NR, nb - jr), alpha, sliceBeta);
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

        /** bp[at ..] = the [kc][NR] micro-panel of op(B)[p][k0 .. k0+kc, j0 .. j0+width), columns past width zero. */
        private void packB(int p, int k0, int kc, int j0, int width, float[] bp, int at, float[] stage) {
            long off = p * s.strideB();
            int n = s.n(), k = s.k();
            if (!transposeB && !b.isF32()) { // B [K, N] in half precision: widen row pieces
                for (int kk = 0; kk < kc; kk++) {
                    int row = at + kk * NR;
                    b.read(off + (long) (k0 + kk) * n + j0, bp, row, width);
                    Arrays.fill(bp, row + width, row + NR, 0f);
                }
            } else if (!transposeB) { // B [K, N]: the panel's columns at one depth are contiguous
                for (int kk = 0; kk < kc; kk++) {
                    long src = (off + (long) (k0 + kk) * n + j0) * Float.BYTES;
                    for (int j = 0; j < NR; j += VL) {
                        VectorMask<Float> valid = F.indexInRange(j, width);
                        FloatVector.fromMemorySegment(F, b.data(), src + (long) j * Float.BYTES, LE, valid)
                                .intoArray(bp, at + kk * NR + j);
                    }
                }
            } else { // B [N, K]: column j of op(B) is row j of B; transposed DEPTHS at a time so writes stay in L1
                if (width < NR) Arrays.fill(bp, at, at + NR * kc, 0f);
                for (int d0 = 0; d0 < kc; d0 += DEPTHS) {
                    int depths = Math.min(DEPTHS, kc - d0);
                    for (int col = 0; col < width; col++) {
                        b.read(off + (long) (j0 + col) * k + k0 + d0, stage, 0, depths);
                        for (int kk = 0; kk < depths; kk++) bp[at + (d0 + kk) * NR + col] = stage[kk];
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
