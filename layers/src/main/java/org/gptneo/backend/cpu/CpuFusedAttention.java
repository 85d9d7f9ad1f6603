package org.gptneo.backend.cpu;

import static org.gptneo.backend.cpu.CpuVectors.F;
import static org.gptneo.backend.cpu.CpuVectors.VL;
import static org.gptneo.backend.cpu.CpuVectors.f32;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import org.gptneo.backend.AttentionMask;
import org.gptneo.tensor.Tensor;

/**
 * Softmax attention in one pass, flash-attention style: {@link org.gptneo.backend.ComposedAttention}
 * computes the same out = dropout(softmax(mask(q·kᵀ)))·v through [T, S] scores and probabilities;
 * this kernel never holds more than one tile of them.
 *
 * <p>A task takes one (batch, head) and a group of VL query rows, and walks the keys that any of its
 * rows sees (the causal cut, the local window's band and the left padding leave one contiguous range
 * per row, so a local layer touches only its window) in tiles of {@link #KEYS}. The group's queries are
 * held transposed, one lane per row, so each tile's scores come out as one vector per key (lane l: row
 * l's score) and the softmax is lane-wise: per row a running maximum m and sum l, as in the online
 * softmax. For each tile: scores s (hidden keys −∞; a row that sees no key scores 0 everywhere, which
 * makes it uniform, as the reference's masked softmax does), m' = max(m, max s), the sum and the
 * weighted values so far rescaled by exp(m − m'), then p = exp(s − m') added to the sum, times its
 * dropout factor, and Σ p·v added to the output lanes. At the end out = (Σ p·v) / l and
 * rowStats = m + log l, the log-sum-exp {@link CpuFusedAttentionBackward} recomputes the
 * probabilities from.
 *
 * <p>With fewer than {@link #LANE_ROWS} query rows (generation: one new token over a KV cache) whole
 * lanes would idle, so {@link CpuFusedAttentionRows} takes the rows one at a time instead.
 */
final class CpuFusedAttention {
    /** Keys per tile: the tile's keys and values ([KEYS][hs] each) stay in L1. */
    static final int KEYS = 64;
    /** From this many query rows on, rows go in lane groups. */
    static final int LANE_ROWS = 8;

    /** Per thread: one group's queries, output lanes and bounds, and one tile of keys, values and scores. */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static final class Scratch {
        int width = -1;
        float[] rows, queryLanes, outLanes, keys, values;
        final float[] scores = new float[KEYS * VL];
        final float[] first = new float[VL], end = new float[VL], keep = new float[VL], sums = new float[VL], max = new float[VL],
                factors = new float[VL];
        final boolean[] uniform = new boolean[VL];

        Scratch forWidth(int w) {
            if (w != width) {
                rows = new float[VL * w];
                queryLanes = new float[w * VL];
                outLanes = new float[w * VL];
                keys = new float[KEYS * w];
                values = new float[KEYS * w];
                width = w;
            }
            return this;
        }
    }

    private CpuFusedAttention() {}

    static void forward(CpuParallel pool, Tensor q, Tensor k, Tensor v, AttentionMask mask, float dropout, long seed,
                        Tensor out, Tensor rowStats) {
        AttentionGeometry g = AttentionGeometry.of(q, k, v, mask);
        if (!out.sameShape(q) || rowStats.size() != g.pairs() * g.t()) {
            throw new IllegalArgumentException("attention writes out [B, H, T, hs] and rowStats [B, H, T] for q " + q
                    + ", got " + out + " and " + rowStats);
        }
        MemorySegment qs = f32(q), ks = AttentionGeometry.rows(k), vs = AttentionGeometry.rows(v), os = f32(out), st = f32(rowStats);
        if (g.pairs() * g.t() == 0) return;
        if (g.s() == 0) {
            CpuElementwise.fill(pool, out, 0f);                    // a softmax over no keys weighs no values
            return;
        }
        if (g.t() < LANE_ROWS) {
            CpuFusedAttentionRows.forward(pool.over(qs, ks, vs, os, st), g, qs, ks, vs, dropout, seed, os, st);
            return;
        }
        int groups = Math.ceilDiv(g.t(), VL);
        long work = 4L * VL * g.hs() * Math.min(g.s(), g.mask().isLocal() ? g.mask().window() + VL : g.s());
        pool.over(qs, ks, vs, os, st).forRange(g.pairs() * groups, CpuParallel.grain(work), (from, to) -> {
            Scratch sc = SCRATCH.get().forWidth(g.paddedWidth());
            for (long item = from; item < to; item++) {
                group(g, item / groups, (int) (item % groups) * VL, qs, ks, vs, dropout, seed, os, st, sc);
            }
        });
    }

    /** Rows i0 .. i0 + VL of pair p (those below T): out and rowStats. */
    private static void group(AttentionGeometry g, long p, int i0, MemorySegment qs, MemorySegment ks, MemorySegment vs,
                              float dropout, long seed, MemorySegment os, MemorySegment st, Scratch sc) {
        int hs = g.hs(), w = sc.width, rows = Math.min(VL, g.t() - i0);
        AttentionTiles.load(qs, g.queryRow(p, i0), hs, rows, hs, sc.rows, w, VL);   // [VL][w]
        AttentionTiles.transpose(sc.rows, w, sc.queryLanes);                        // [w][VL]
        int keyLo = bounds(g, p, i0, rows, sc.first, sc.end, sc.uniform);
        int keyHi = (int) max(sc.end, rows);
        float kept = 1f / (1f - dropout);

        Arrays.fill(sc.max, -Float.MAX_VALUE);                                      // m
        Arrays.fill(sc.sums, 0f);                                                   // l
        Arrays.fill(sc.outLanes, 0f);                                               // Σ p·v so far, [w][VL]
        for (int j0 = keyLo; j0 < keyHi; j0 += KEYS) {
            int count = Math.min(KEYS, keyHi - j0), padded = AttentionTiles.paddedKeys(count);
            AttentionTiles.load(ks, g.keyRow(p, j0), g.kRow(), count, hs, sc.keys, w, padded);
            AttentionTiles.laneDots(sc.queryLanes, sc.keys, w, padded, sc.scores);   // s [count][VL]
            softmaxTile(g, p, i0, rows, j0, count, dropout, kept, seed, sc);         // the weights of the values
            AttentionTiles.load(vs, g.valueRow(p, j0), g.vRow(), count, hs, sc.values, w, count);
            AttentionTiles.laneAccumulate(sc.scores, sc.values, w, count, sc.outLanes);
        }
        for (int r = 0; r < rows; r++) {
            long o = g.queryRow(p, i0 + r);
            for (int d = 0; d < hs; d++) CpuVectors.set(os, o + d, sc.outLanes[d * VL + r] / sc.sums[r]);
            CpuVectors.set(st, p * g.t() + i0 + r, sc.max[r] + (float) Math.log(sc.sums[r]));
        }
    }

    /**
     * One tile's softmax step, its scores [count][VL] turned in place into the weights of its values: lane
     * r of key j0 + c is 0 where row r is uniform and −∞ where the row does not see the key; the online
     * softmax's step to the new maximum m' = max(m, the tile's), l and the output lanes times
     * exp(m − m'); p = exp(s − m') added to l in key order; p times the key's dropout factor.
     *
     * <p>Arrays in and out, exp through {@link CpuMath#exp(float[], int, int)}: a vector handed to a
     * call that C2 does not inline is allocated on the heap, and C2 stops inlining in a compilation past
     * a node count that {@link #group} with its loads and products reaches. With these steps as small
     * methods and the vector exp, it called exp out of line for every key (about 440 KB a call of
     * T = 128, 4 heads). The 16 exps of the rescale are scalar ({@link CpuMath#exp(float)} gives the
     * vector form's bits).
     */
    private static void softmaxTile(AttentionGeometry g, long p, int i0, int rows, int j0, int count, float dropout, float kept,
                                    long seed, Scratch sc) {
        float[] scores = sc.scores, m = sc.max, l = sc.sums;
        FloatVector from = FloatVector.fromArray(F, sc.first, 0), to = FloatVector.fromArray(F, sc.end, 0);
        VectorMask<Float> flat = VectorMask.fromArray(F, sc.uniform, 0);
        FloatVector tileMax = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int c = 0; c < count; c++) {
            float j = j0 + c;
            VectorMask<Float> visible = from.compare(VectorOperators.LE, j).and(to.compare(VectorOperators.GT, j));
            FloatVector s = FloatVector.fromArray(F, scores, c * VL).blend(0f, flat).blend(Float.NEGATIVE_INFINITY, visible.not());
            s.intoArray(scores, c * VL);
            tileMax = tileMax.max(s);
        }
        tileMax.intoArray(sc.factors, 0);
        for (int r = 0; r < VL; r++) {
            float next = Math.max(m[r], sc.factors[r]);
            sc.factors[r] = CpuMath.exp(m[r] - next);
            m[r] = next;
        }
        FloatVector scale = FloatVector.fromArray(F, sc.factors, 0);
        for (int d = 0; d < sc.width; d++) {
            FloatVector.fromArray(F, sc.outLanes, d * VL).mul(scale).intoArray(sc.outLanes, d * VL);
        }
        FloatVector max = FloatVector.fromArray(F, m, 0), sum = FloatVector.fromArray(F, l, 0).mul(scale);
        for (int c = 0; c < count; c++) {
            FloatVector.fromArray(F, scores, c * VL).sub(max).intoArray(scores, c * VL);
        }
        CpuMath.exp(scores, 0, count * VL);
        for (int c = 0; c < count; c++) sum = sum.add(FloatVector.fromArray(F, scores, c * VL));
        sum.intoArray(l, 0);
        if (dropout > 0f) {
            for (int c = 0; c < count; c++) {
                keep(g, p, i0, rows, j0 + c, dropout, kept, seed, sc.keep);
                FloatVector.fromArray(F, scores, c * VL).mul(FloatVector.fromArray(F, sc.keep, 0)).intoArray(scores, c * VL);
            }
        }
    }

    /**
     * For lanes r &lt; rows (row i0 + r of pair p): first[r], end[r] (its keys; rows past T see none) and
     * whether it is uniform. Returns the first key any of them sees.
     */
    static int bounds(AttentionGeometry g, long p, int i0, int rows, float[] first, float[] end, boolean[] uniform) {
        int lo = Integer.MAX_VALUE;
        for (int r = 0; r < VL; r++) {
            boolean row = r < rows;
            first[r] = row ? g.first(p, i0 + r) : 0;
            end[r] = row ? g.end(p, i0 + r) : 0;
            uniform[r] = row && g.uniform(p, i0 + r);
            if (row) lo = Math.min(lo, (int) first[r]);
        }
        return lo;
    }

    /** The largest of values[0 .. count). */
    static float max(float[] values, int count) {
        float max = Float.NEGATIVE_INFINITY;
        for (int r = 0; r < count; r++) max = Math.max(max, values[r]);
        return max;
    }

    /** lanes [VL], lane r: the dropout factor of (row i0 + r, key j) of pair p; 0 past the rows. */
    static void keep(AttentionGeometry g, long p, int i0, int rows, int j, float rate, float kept, long seed, float[] lanes) {
        for (int r = 0; r < VL; r++) lanes[r] = r < rows ? g.keep(rate, kept, seed, p, i0 + r, j) : 0f;
    }
}
