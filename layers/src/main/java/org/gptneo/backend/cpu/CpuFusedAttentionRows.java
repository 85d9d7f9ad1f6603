package org.gptneo.backend.cpu;

import static org.gptneo.backend.cpu.CpuVectors.F;
import static org.gptneo.backend.cpu.CpuVectors.VL;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * {@link CpuFusedAttention}'s forward for a few query rows (generation: one token, or a few, over a
 * KV cache of up to the context length): one task per (batch, head, row), the row's visible keys in
 * tiles with the same online softmax, but with the scores as dot products of the query with each key
 * row (vectors over hs, four keys at a time), so no lane idles and the keys and values stream once.
 */
final class CpuFusedAttentionRows {
    private static final int KEYS = CpuFusedAttention.KEYS;

    /** Per thread: the query row, its output row, one tile of keys, values and scores. */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static final class Scratch {
        int width = -1;
        float[] query, out, keys, values;
        final float[] scores = new float[KEYS];
        final float[] lanes = new float[4 * VL];

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
            FloatVector sum = FloatVector.zero(F);
            for (int c = 0; c < whole; c += VL) {
                FloatVector prob = CpuMath.exp(FloatVector.fromArray(F, sc.scores, c).sub(m));
                sum = sum.add(prob);
                prob.intoArray(sc.scores, c);                                   // the weights of the values
            }
            l += AttentionTiles.laneSum(sum, sc.lanes, 0);
            if (dropout > 0f) {
                for (int c = 0; c < count; c++) sc.scores[c] *= g.keep(dropout, kept, seed, p, i, j0 + c);
            }
            AttentionTiles.load(vs, g.valueRow(p, j0), g.vRow(), count, hs, sc.values, w, count);
            AttentionTiles.rowsTimes(sc.scores, 0, 1, 1, count, sc.values, w, sc.out, true);
        }
        long o = g.queryRow(p, i);
        for (int d = 0; d < hs; d++) CpuVectors.set(os, o + d, sc.out[d] / l);
        CpuVectors.set(st, p * g.t() + i, m + (float) Math.log(l));
    }
}
