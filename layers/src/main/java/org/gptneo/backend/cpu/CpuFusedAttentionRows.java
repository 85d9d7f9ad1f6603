package org.gptneo.backend.cpu;

import static org.gptneo.backend.cpu.CpuVectors.F;
import static org.gptneo.backend.cpu.CpuVectors.LE;
import static org.gptneo.backend.cpu.CpuVectors.VL;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * {@link CpuFusedAttention}'s forward for a few query rows (generation: one token, or a few, over a
 * KV cache of up to the context length): one task per (batch, head, row), the row's visible keys in
 * tiles with the same online softmax, but with the scores as dot products of the query with each key
 * row (vectors over hs, four keys at a time), so no lane idles and the keys and values stream once.
 * Where hs is a whole number of vectors the keys and values are read in place, from the cache's memory;
 * otherwise each tile is first copied into rows padded with zeros ({@link AttentionTiles#load}). Both
 * give the same bits: the same FMA chains, each score's lanes summed in lane order.
 */
final class CpuFusedAttentionRows {
    private static final int KEYS = CpuFusedAttention.KEYS;

    /** Per thread: the query row, its output row, one tile of keys, values and scores. */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static final class Scratch {
        int width = -1;
        float[] query, out, keys, values;
        final float[] scores = new float[KEYS];
        /** 16 accumulators' lanes, and their sums. */
        final float[] lanes = new float[16 * VL], sums = new float[16];

        Scratch forWidth(int w) {
            if (w != width) {
                query = new float[w];
                out = new float[w];
                keys = new float[KEYS * w];
                values = new float[KEYS * w];
                width = w;
            }
            return this;
        }
    }

    private CpuFusedAttentionRows() {}

    static void forward(CpuParallel pool, AttentionGeometry g, MemorySegment qs, MemorySegment ks, MemorySegment vs,
                        float dropout, long seed, MemorySegment os, MemorySegment st) {
        long work = 4L * g.hs() * Math.min(g.s(), g.mask().isLocal() ? g.mask().window() : g.s());
        pool.forRange(g.pairs() * g.t(), CpuParallel.grain(work), (from, to) -> {
            Scratch sc = SCRATCH.get().forWidth(g.paddedWidth());
            for (long item = from; item < to; item++) row(g, item / g.t(), (int) (item % g.t()), qs, ks, vs, dropout, seed, os, st, sc);
        });
    }

    /** Row i of pair p: out and rowStats. */
    private static void row(AttentionGeometry g, long p, int i, MemorySegment qs, MemorySegment ks, MemorySegment vs,
                            float dropout, long seed, MemorySegment os, MemorySegment st, Scratch sc) {
        int hs = g.hs(), w = sc.width;
        boolean inPlace = hs == w;                                             // rows need no padding
        boolean uniform = g.uniform(p, i);
        int first = g.first(p, i), end = g.end(p, i);
        float kept = 1f / (1f - dropout);
        AttentionTiles.load(qs, g.queryRow(p, i), hs, 1, hs, sc.query, w, 1);
        Arrays.fill(sc.out, 0f);                                              // Σ p·v so far
        float m = Float.NEGATIVE_INFINITY, l = 0f;
        for (int j0 = first; j0 < end; j0 += KEYS) {
            int count = Math.min(KEYS, end - j0), padded = (count + 3) & ~3;
            if (uniform) {
                Arrays.fill(sc.scores, 0, count, 0f);
            } else if (inPlace) {
                scores(sc.query, ks, g.keyRow(p, j0), g.kRow(), w, count, sc);
            } else {
                AttentionTiles.load(ks, g.keyRow(p, j0), g.kRow(), count, hs, sc.keys, w, padded);
                AttentionTiles.rowDots(sc.query, sc.keys, w, padded, sc.scores, sc.lanes);
            }
            float next = Math.max(m, CpuFusedAttention.max(sc.scores, count)), scale = CpuMath.exp(m - next);
            m = next;
            l *= scale;
            for (int d = 0; d < w; d += VL) FloatVector.fromArray(F, sc.out, d).mul(scale).intoArray(sc.out, d);
            int whole = (int) CpuVectors.wholeVectors(count);
            Arrays.fill(sc.scores, count, whole, Float.NEGATIVE_INFINITY);          // weigh nothing
            for (int c = 0; c < whole; c += VL) FloatVector.fromArray(F, sc.scores, c).sub(m).intoArray(sc.scores, c);
            CpuMath.exp(sc.scores, 0, whole);                                   // the weights of the values (array form: no boxing)
            FloatVector sum = FloatVector.zero(F);
            for (int c = 0; c < whole; c += VL) sum = sum.add(FloatVector.fromArray(F, sc.scores, c));
            l += AttentionTiles.laneSum(sum, sc.lanes, 0);
            if (dropout > 0f) {
                for (int c = 0; c < count; c++) sc.scores[c] *= g.keep(dropout, kept, seed, p, i, j0 + c);
            }
            if (inPlace) {
                weighValues(sc.scores, count, vs, g.valueRow(p, j0), g.vRow(), w, sc.out);
            } else {
                AttentionTiles.load(vs, g.valueRow(p, j0), g.vRow(), count, hs, sc.values, w, count);
                AttentionTiles.rowsTimes(sc.scores, 0, 1, 1, count, sc.values, w, sc.out, true);
            }
        }
        long o = g.queryRow(p, i);
        for (int d = 0; d < hs; d++) CpuVectors.set(os, o + d, sc.out[d] / l);
        CpuVectors.set(st, p * g.t() + i, m + (float) Math.log(l));
    }

    /**
     * sc.scores[c] = Σ_d query[d]·K[c][d] for c &lt; count, K[c] the w floats at element first + c·stride of
     * {@code memory}: {@link AttentionTiles#rowDots}' chains, four keys at a time (a short last group
     * repeats its last key), read in place. The lanes of 16 keys are summed together, in lane order
     * ({@link CpuMatvec#sums}), instead of one key at a time.
     */
    private static void scores(float[] query, MemorySegment memory, long first, long stride, int w, int count, Scratch sc) {
        for (int c0 = 0; c0 < count; c0 += 16) {
            int n = Math.min(16, count - c0);
            for (int c = 0; c < n; c += 4) {
                long r0 = first + (c0 + c) * stride, r1 = first + (c0 + Math.min(c + 1, n - 1)) * stride;
                long r2 = first + (c0 + Math.min(c + 2, n - 1)) * stride, r3 = first + (c0 + Math.min(c + 3, n - 1)) * stride;
                FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
                for (int d = 0; d < w; d += VL) {
                    FloatVector xv = FloatVector.fromArray(F, query, d);
                    a0 = FloatVector.fromMemorySegment(F, memory, (r0 + d) * Float.BYTES, LE).fma(xv, a0);
                    a1 = FloatVector.fromMemorySegment(F, memory, (r1 + d) * Float.BYTES, LE).fma(xv, a1);
                    a2 = FloatVector.fromMemorySegment(F, memory, (r2 + d) * Float.BYTES, LE).fma(xv, a2);
                    a3 = FloatVector.fromMemorySegment(F, memory, (r3 + d) * Float.BYTES, LE).fma(xv, a3);
                }
                a0.intoArray(sc.lanes, c * VL);
                a1.intoArray(sc.lanes, (c + 1) * VL);
                a2.intoArray(sc.lanes, (c + 2) * VL);
                a3.intoArray(sc.lanes, (c + 3) * VL);
            }
            CpuMatvec.sums(sc.lanes, sc.sums);
            System.arraycopy(sc.sums, 0, sc.scores, c0, n);
        }
    }

    /**
     * out[d] += Σ_n weights[n]·V[n][d] for n &lt; count, V[n] the w floats at element first + n·stride of
     * {@code memory}: {@link AttentionTiles#rowsTimes}' loop for one row, read in place.
     */
    private static void weighValues(float[] weights, int count, MemorySegment memory, long first, long stride, int w, float[] out) {
        int d = 0;
        for (; d + 4 * VL <= w; d += 4 * VL) {
            FloatVector a0 = FloatVector.fromArray(F, out, d), a1 = FloatVector.fromArray(F, out, d + VL);
            FloatVector a2 = FloatVector.fromArray(F, out, d + 2 * VL), a3 = FloatVector.fromArray(F, out, d + 3 * VL);
            long r = first + d;
            for (int n = 0; n < count; n++, r += stride) {
                FloatVector x = FloatVector.broadcast(F, weights[n]);
                a0 = FloatVector.fromMemorySegment(F, memory, r * Float.BYTES, LE).fma(x, a0);
                a1 = FloatVector.fromMemorySegment(F, memory, (r + VL) * Float.BYTES, LE).fma(x, a1);
                a2 = FloatVector.fromMemorySegment(F, memory, (r + 2 * VL) * Float.BYTES, LE).fma(x, a2);
                a3 = FloatVector.fromMemorySegment(F, memory, (r + 3 * VL) * Float.BYTES, LE).fma(x, a3);
            }
            a0.intoArray(out, d);
            a1.intoArray(out, d + VL);
            a2.intoArray(out, d + 2 * VL);
            a3.intoArray(out, d + 3 * VL);
        }
        for (; d < w; d += VL) {
            FloatVector a0 = FloatVector.fromArray(F, out, d);
            long r = first + d;
            for (int n = 0; n < count; n++, r += stride) {
                a0 = FloatVector.fromMemorySegment(F, memory, r * Float.BYTES, LE).fma(FloatVector.broadcast(F, weights[n]), a0);
            }
            a0.intoArray(out, d);
        }
    }
}
