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
 * special case. Operands whose packed order is across their rows (op(A) = A, op(B) = Bᵀ) are packed
 * by copying a few rows into a staging buffer and gathering them depth by depth with vector gathers;
 * a full-width F32 Bᵀ panel is transposed in registers instead ({@link Transpose16#panel}, about twice
 * as fast), the gathers taking the depths past its last 16 × 16 block. Each operand is packed about
 * once per call: B once per slab, A once per slab and column block (more only when a few rows are
 * split over threads by columns).
 */
final class CpuMatmul {
    /**
     * Micro-tile: MR rows × NR columns held in 2·MR vector registers. With 16-lane vectors (AVX-512,
     * 32 registers) 12 rows: each B vector loaded from L2 feeds twice the FMAs of 6 rows (one thread
     * 1.0-1.18x on bench gemm's shapes), and 14 rows ran 0.87-0.93x of 12 (docs/performance.md, "A
     * 12-row micro-tile"). Narrower vectors come with 16 registers (AVX2): they hold the 12 of 6 rows.
     */
    static final int MR = VL >= 16 ? 12 : 6;
    static final int NR = 2 * VL;
    /**
     * Deepest slab of K. K is cut into equal slabs of at most KC; an A micro-panel (MR·KC floats)
     * then stays in L1 while the B micro-panels stream past it from L2.
     */
    private static final int KC = 512;
    /**
     * Deepest K done in one slab, past KC: a depth of 768 (the 125M model's width) is not cut in two,
     * so C is written once rather than written, read back and written again (the LM head's C is
     * 103 MB). 12 × 768 floats of A (36 KB) still fit Zen 5's 48 KB L1. Prefill's 72 products 1.043x
     * and its LM head 1.055x, faster in 6 of 6 rounds (docs/performance.md, "One slab for a depth of 768").
     */
    private static final int ONE_SLAB = 768;
    /**
     * Fewest MR-row panels of A in a piece of the shrinking row loop ({@link CpuParallel#forShrinkingRange}):
     * each piece streams the packed B block once, and the last pieces decide how long one thread waits
     * for the other at the end of a product (the helper polled for work in 7-10% of a prefill's samples
     * with 6). Both ways alternated in one process, 2 panels against 6: the 72 products of a 125M prefill
     * 1.018x (6 of 8 rounds), its LM head 1.012x (7 of 8), a training step 1.028x (6 of 6); 1 panel
     * against 2: 1.005x (4 of 8).
     */
    private static final int MIN_ROW_PANELS = 2;
    /** Most rows of A a task packs (a multiple of MR): its A block (MC·KC floats) stays in L2. */
    private static final int MC = 120;
    /** Columns of B a task sweeps per A micro-panel: that part of the packed B block stays in L2. */
    private static final int NC = 8 * NR;
    /** Columns of B packed together per slab: the shared packed block (NB·KC floats) stays in L3. */
    private static final int NB = 64 * NR;

    /** Depths of a transposed operand moved per pass: the rows staged (NR·DEPTHS floats) stay in L1. */
    private static final int DEPTHS = 64;
    /**
     * Depths of an A micro-panel that fill whole vectors ([GROUP][MR] floats is a multiple of VL):
     * packing gathers them from the staged rows.
     */
    private static final int GROUP = VL / gcd(MR, VL);
    /** Gather indices of one depth of a B micro-panel in the staged rows: lane j reads row j (never written). */
    private static final int[] B_ROWS = stagedRowStarts();

    /** The calling thread's buffers, reused across calls. */
    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    private static final class Buffers {
        final float[] packedA = new float[MC * ONE_SLAB];
        /** The packed B block of the calls this thread makes, read by every thread of the call. */
        float[] packedB = new float[0];
        final float[] tile = new float[MR * NR];
        /** Rows of an operand on their way into a packed layout: MR rows of kc, or NR rows of DEPTHS. */
        final float[] stage = new float[Math.max(MR * ONE_SLAB, NR * DEPTHS)];
        /** Gather indices of GROUP depths of an A micro-panel in its staged rows of kc ([GROUP][MR]). */
        final int[] aOrder = new int[GROUP * MR];

        float[] packedB(int floats) {
            if (packedB.length < floats) packedB = new float[floats];
            return packedB;
        }
    }

    private CpuMatmul() {}

    private static int gcd(int x, int y) {
        return y == 0 ? x : gcd(y, x % y);
    }

    private static int[] stagedRowStarts() {
        int[] starts = new int[NR];
        for (int j = 0; j < NR; j++) starts[j] = j * DEPTHS;
        return starts;
    }

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
         * then compute the C block. Where there are enough rows for every thread (the common case),
         * threads claim pieces of MR-row panels that shrink towards the end of the loop, so that a
         * thread the VM slows for a while holds up the others by a short piece; with few rows, row
         * tasks × column ranges, at least two per thread. A C element is summed over k in the same
         * order whatever the cut, so the result does not depend on the thread count.
         */
        void run() {
            int slab = s.k() <= ONE_SLAB ? s.k() : Math.ceilDiv(s.k(), Math.ceilDiv(s.k(), KC));
            int threads = pool.threads(), wanted = 2 * threads, rowPanels = Math.ceilDiv(s.m(), MR);
            int fitting = Math.max(Math.ceilDiv(rowPanels, MC / MR), wanted); // each task's rows fit packedA
            int rowTasks = Math.min(rowPanels, Math.ceilDiv(fitting, threads) * threads);
            int minPanels = Math.min(MIN_ROW_PANELS, Math.ceilDiv(rowPanels, wanted));
            float[] packedB = BUFFERS.get().packedB(NB * slab);
            for (int p = 0; p < s.batch(); p++) {
                for (int jb = 0; jb < s.n(); jb += NB) {
                    int nb = Math.min(NB, s.n() - jb);
                    int panels = Math.ceilDiv(nb, NR);
                    int colTasks = Math.clamp(Math.ceilDiv(wanted, rowTasks), 1, panels);
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
                        if (colTasks == 1) {
                            pool.forShrinkingRange(rowPanels, minPanels, (from, to) -> rowRange(batchEntry,
                                    (int) from, (int) to, depth, kc, packedB, block, nb, panels, sliceBeta, BUFFERS.get()));
                        } else {
                            long tasks = (long) rowTasks * colTasks;
                            long workPerTask = 2L * s.m() / rowTasks * nb / colTasks * kc;
                            pool.forRange(tasks, CpuParallel.grain(workPerTask), (from, to) -> {
                                Buffers buffers = BUFFERS.get();
                                for (long t = from; t < to; t++) {
                                    int row = (int) (t / colTasks), col = (int) (t % colTasks);
                                    int i0 = (int) ((long) row * rowPanels / rowTasks) * MR;
                                    int i1 = Math.min(s.m(), (int) ((long) (row + 1) * rowPanels / rowTasks) * MR);
                                    int firstPanel = (int) ((long) col * panels / colTasks);
                                    int lastPanel = (int) ((long) (col + 1) * panels / colTasks);
                                    task(batchEntry, i0, i1 - i0, depth, kc, packedB, block, nb, firstPanel, lastPanel,
                                            sliceBeta, buffers);
                                }
                            });
                        }
                    }
                }
            }
        }

        /**
         * {@link #task} for row panels [from, to) and every column panel, in near-equal tasks whose rows
         * fit packedA.
         */
        private void rowRange(int p, int from, int to, int k0, int kc, float[] packedB, int jb, int nb, int panels,
                              float sliceBeta, Buffers buf) {
            int tasks = Math.ceilDiv(to - from, MC / MR);
            for (int q = 0; q < tasks; q++) {
                int i0 = (from + (to - from) * q / tasks) * MR;
                int i1 = Math.min(s.m(), (from + (to - from) * (q + 1) / tasks) * MR);
                task(p, i0, i1 - i0, k0, kc, packedB, jb, nb, 0, panels, sliceBeta, buf);
            }
        }

        /**
         * Adds slab [k0, k0 + kc) of C[p][i0 .. i0+rows, columns of B panels [firstPanel, lastPanel)
         * of the block starting at column jb]: packs the rows of A, then sweeps the panels NC columns
         * at a time so that part of packed B stays in L2 while each A micro-panel sits in L1. (Holding
         * one B panel while all A panels stream past was faster for N = 768 but slower for 2048³ and
         * N = 3072 and 50257, where it walks C down rows far apart.)
         */
        private void task(int p, int i0, int rows, int k0, int kc, float[] packedB, int jb, int nb,
                          int firstPanel, int lastPanel, float sliceBeta, Buffers buf) {
            long offC = p * s.strideC();
            packA(p * s.strideA(), i0, rows, k0, kc, buf);
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

        /** buf.packedA [mc/MR panels][kc][MR] = op(A)[i0 .. i0+mc, k0 .. k0+kc), rows past the block zero. */
        private void packA(long off, int i0, int mc, int k0, int kc, Buffers buf) {
            int m = s.m(), k = s.k();
            float[] ap = buf.packedA, stage = buf.stage;
            int[] order = buf.aOrder;
            for (int q = 0; q < order.length; q++) order[q] = q % MR * kc + q / MR; // [GROUP][MR] ← row q % MR
            for (int ir = 0; ir < mc; ir += MR) {
                int panel = ir * kc, rows = Math.min(MR, mc - ir);
                if (!transposeA) { // A [M, K]: row i is contiguous in k; stage the MR rows, then gather depth-major
                    for (int r = 0; r < MR; r++) {
                        if (r < rows) a.read(off + (long) (i0 + ir + r) * k + k0, stage, r * kc, kc);
                        else Arrays.fill(stage, r * kc, (r + 1) * kc, 0f);
                    }
                    int kk = 0;
                    for (; kk + GROUP <= kc; kk += GROUP) {
                        for (int q = 0; q < GROUP * MR; q += VL) {
                            FloatVector.fromArray(F, stage, kk, order, q).intoArray(ap, panel + kk * MR + q);
                        }
                    }
                    for (; kk < kc; kk++) {
                        for (int r = 0; r < MR; r++) ap[panel + kk * MR + r] = stage[r * kc + kk];
                    }
                } else { // A [K, M]: the panel's rows at one depth are contiguous
                    if (rows < MR) Arrays.fill(ap, panel, panel + MR * kc, 0f);
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
                        long from = src + (long) j * Float.BYTES;
                        FloatVector row = width == NR ? FloatVector.fromMemorySegment(F, b.data(), from, LE)
                                : FloatVector.fromMemorySegment(F, b.data(), from, LE, F.indexInRange(j, width));
                        row.intoArray(bp, at + kk * NR + j);
                    }
                }
            } else { // B [N, K]: column j of op(B) is row j of B
                int transposed = 0; // depths packed by register transposes: whole 16 × 16 blocks of a full-width F32 panel
                if (width == NR && b.isF32() && Transpose16.applies()) {
                    transposed = kc - kc % VL;
                    Transpose16.panel(b.data(), off + (long) j0 * k + k0, k, transposed, bp, at);
                }
                // the other depths: NR rows of DEPTHS staged, then gathered depth by depth
                if (width < NR) Arrays.fill(stage, width * DEPTHS, NR * DEPTHS, 0f);
                for (int d0 = transposed; d0 < kc; d0 += DEPTHS) {
                    int depths = Math.min(DEPTHS, kc - d0);
                    for (int col = 0; col < width; col++) {
                        b.read(off + (long) (j0 + col) * k + k0 + d0, stage, col * DEPTHS, depths);
                    }
                    for (int kk = 0; kk < depths; kk++) {
                        for (int j = 0; j < NR; j += VL) {
                            FloatVector.fromArray(F, stage, kk, B_ROWS, j).intoArray(bp, at + (d0 + kk) * NR + j);
                        }
                    }
                }
            }
        }
    }

    /** tile [MR][NR] = Σ_k ap[k][r]·bp[k][j] over one micro-panel pair ([kc][MR] and [kc][NR] floats). */
    private static void microKernel(float[] ap, int aAt, float[] bp, int bAt, int kc, float[] tile) {
        if (MR == 12) microKernel12(ap, aAt, bp, bAt, kc, tile);
        else microKernel6(ap, aAt, bp, bAt, kc, tile);
    }

    /**
     * tile [12][NR] = Σ_k ap[k][r]·bp[k][j] over one micro-panel pair of 12 rows. The 24 accumulators
     * are named locals so they stay in registers; they leave only through array stores, never through a call.
     */
    static void microKernel12(float[] ap, int aAt, float[] bp, int bAt, int kc, float[] tile) {
        // cRRj: row RR of the tile, its j-th vector of columns
        FloatVector c000 = FloatVector.zero(F), c001 = c000;
        FloatVector c010 = c000, c011 = c000, c020 = c000, c021 = c000, c030 = c000, c031 = c000;
        FloatVector c040 = c000, c041 = c000, c050 = c000, c051 = c000, c060 = c000, c061 = c000;
        FloatVector c070 = c000, c071 = c000, c080 = c000, c081 = c000, c090 = c000, c091 = c000;
        FloatVector c100 = c000, c101 = c000, c110 = c000, c111 = c000;
        for (int kk = 0; kk < kc; kk++) {
            int ak = aAt + kk * 12, bk = bAt + kk * NR;
            FloatVector b0 = FloatVector.fromArray(F, bp, bk);   // B[k, j .. j+VL)
            FloatVector b1 = FloatVector.fromArray(F, bp, bk + VL);
            FloatVector x = FloatVector.broadcast(F, ap[ak]);     // A[i, k]
            c000 = x.fma(b0, c000);
            c001 = x.fma(b1, c001);
            x = FloatVector.broadcast(F, ap[ak + 1]);
            c010 = x.fma(b0, c010);
            c011 = x.fma(b1, c011);
            x = FloatVector.broadcast(F, ap[ak + 2]);
            c020 = x.fma(b0, c020);
            c021 = x.fma(b1, c021);
            x = FloatVector.broadcast(F, ap[ak + 3]);
            c030 = x.fma(b0, c030);
            c031 = x.fma(b1, c031);
            x = FloatVector.broadcast(F, ap[ak + 4]);
            c040 = x.fma(b0, c040);
            c041 = x.fma(b1, c041);
            x = FloatVector.broadcast(F, ap[ak + 5]);
            c050 = x.fma(b0, c050);
            c051 = x.fma(b1, c051);
            x = FloatVector.broadcast(F, ap[ak + 6]);
            c060 = x.fma(b0, c060);
            c061 = x.fma(b1, c061);
            x = FloatVector.broadcast(F, ap[ak + 7]);
            c070 = x.fma(b0, c070);
            c071 = x.fma(b1, c071);
            x = FloatVector.broadcast(F, ap[ak + 8]);
            c080 = x.fma(b0, c080);
            c081 = x.fma(b1, c081);
            x = FloatVector.broadcast(F, ap[ak + 9]);
            c090 = x.fma(b0, c090);
            c091 = x.fma(b1, c091);
            x = FloatVector.broadcast(F, ap[ak + 10]);
            c100 = x.fma(b0, c100);
            c101 = x.fma(b1, c101);
            x = FloatVector.broadcast(F, ap[ak + 11]);
            c110 = x.fma(b0, c110);
            c111 = x.fma(b1, c111);
        }
        c000.intoArray(tile, 0 * NR);
        c001.intoArray(tile, 0 * NR + VL);
        c010.intoArray(tile, 1 * NR);
        c011.intoArray(tile, 1 * NR + VL);
        c020.intoArray(tile, 2 * NR);
        c021.intoArray(tile, 2 * NR + VL);
        c030.intoArray(tile, 3 * NR);
        c031.intoArray(tile, 3 * NR + VL);
        c040.intoArray(tile, 4 * NR);
        c041.intoArray(tile, 4 * NR + VL);
        c050.intoArray(tile, 5 * NR);
        c051.intoArray(tile, 5 * NR + VL);
        c060.intoArray(tile, 6 * NR);
        c061.intoArray(tile, 6 * NR + VL);
        c070.intoArray(tile, 7 * NR);
        c071.intoArray(tile, 7 * NR + VL);
        c080.intoArray(tile, 8 * NR);
        c081.intoArray(tile, 8 * NR + VL);
        c090.intoArray(tile, 9 * NR);
        c091.intoArray(tile, 9 * NR + VL);
        c100.intoArray(tile, 10 * NR);
        c101.intoArray(tile, 10 * NR + VL);
        c110.intoArray(tile, 11 * NR);
        c111.intoArray(tile, 11 * NR + VL);
    }

    /**
     * tile [6][NR] = Σ_k ap[k][r]·bp[k][j] over one micro-panel pair of 6 rows, as {@link #microKernel12}.
     */
    static void microKernel6(float[] ap, int aAt, float[] bp, int bAt, int kc, float[] tile) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int kk = 0; kk < kc; kk++) {
            int ak = aAt + kk * 6, bk = bAt + kk * NR;
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
     * beta ≠ 0. Full-width tiles (the common case) and edge tiles, whose columns past {@code cols} are
     * masked off, go through separate methods: in one method, C2 hoisted a full-width range check out
     * of the loops by the profile, and the last tile of an LM head (where that check fails) deoptimised
     * it once per prefill, leaving the next updates to the interpreter (docs/performance.md, "An
     * update the JIT kept throwing away").
     */
    private static void update(float[] tile, MemorySegment c, long cAt, int ldc, int rows, int cols,
                               float alpha, float beta) {
        if (cols == NR) updateFull(tile, c, cAt, ldc, rows, alpha, beta);
        else updateEdge(tile, c, cAt, ldc, rows, cols, alpha, beta);
    }

    private static void updateFull(float[] tile, MemorySegment c, long cAt, int ldc, int rows, float alpha, float beta) {
        for (int r = 0; r < rows; r++) { // [MR, NR]
            long row = cAt + (long) r * ldc;
            for (int j = 0; j < NR; j += VL) {
                long at = (row + j) * Float.BYTES;
                FloatVector out = FloatVector.fromArray(F, tile, r * NR + j).mul(alpha);
                if (beta != 0f) out = out.add(FloatVector.fromMemorySegment(F, c, at, LE).mul(beta));
                out.intoMemorySegment(c, at, LE);
            }
        }
    }

    private static void updateEdge(float[] tile, MemorySegment c, long cAt, int ldc, int rows, int cols,
                                   float alpha, float beta) {
        for (int r = 0; r < rows; r++) { // [MR, cols]
            long row = cAt + (long) r * ldc;
            for (int j = 0; j < cols; j += VL) {
                long at = (row + j) * Float.BYTES;
                VectorMask<Float> mask = F.indexInRange(j, cols);
                FloatVector out = FloatVector.fromArray(F, tile, r * NR + j).mul(alpha);
                if (beta != 0f) out = out.add(FloatVector.fromMemorySegment(F, c, at, LE, mask).mul(beta));
                out.intoMemorySegment(c, at, LE, mask);
            }
        }
    }
}
