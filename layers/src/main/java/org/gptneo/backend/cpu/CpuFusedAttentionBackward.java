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
 * The backward of {@link CpuFusedAttention}, tile by tile, with nothing [T, S] kept or made. In
 * {@link org.gptneo.backend.ComposedAttention}'s terms, with P the probabilities, M the dropout factors
 * and O = (P⊙M)·v the forward's output: dv += (P⊙M)ᵀ·dO, dP = (dO·vᵀ)⊙M, dS = P⊙(dP − D) with
 * D = rowsum(P⊙dP) = rowsum(dO⊙O), dq += dS·k and dk += dSᵀ·q. Here P is recomputed from the scores
 * and the forward's log-sum-exp per row (rowStats): P = exp(s − lse), 0 for hidden keys.
 *
 * <p>One task per (batch, head), so dk and dv of a key collect the contributions of all rows in a fixed
 * order whatever the thread count. Within it, groups of VL query rows as in the forward (transposed:
 * one lane per row), each walking its visible keys in tiles: the scores s and dO·vᵀ come out as one
 * vector per key, P, dP and dS follow lane-wise, and the three products run on the tile's rows.
 */
final class CpuFusedAttentionBackward {
    private static final int KEYS = CpuFusedAttention.KEYS;

    /** Per thread: one group's rows and lanes, its dq rows, and one tile of keys, values and lane tiles. */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static final class Scratch {
        int width = -1;
        float[] queryRows, queryLanes, gradRows, gradLanes, outRows, outLanes, dqRows, keys, values, tile;
        final float[] scores = new float[KEYS * VL], dProbs = new float[KEYS * VL], weights = new float[KEYS * VL];
        final float[] first = new float[VL], end = new float[VL], keep = new float[VL], lse = new float[VL], rowDots = new float[VL];
        final boolean[] uniform = new boolean[VL];

        Scratch forWidth(int w) {
            if (w != width) {
                queryRows = new float[VL * w];
                queryLanes = new float[w * VL];
                gradRows = new float[VL * w];
                gradLanes = new float[w * VL];
                outRows = new float[VL * w];
                outLanes = new float[w * VL];
                dqRows = new float[VL * w];
                keys = new float[KEYS * w];
                values = new float[KEYS * w];
                tile = new float[KEYS * w];
                width = w;
            }
            return this;
        }
    }

    /** One call's memory (gradients not wanted are null). */
    private record Operands(MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out, MemorySegment stats,
                            MemorySegment dOut, MemorySegment dq, MemorySegment dk, MemorySegment dv) {}

    private CpuFusedAttentionBackward() {}

    static void backward(CpuParallel pool, Tensor q, Tensor k, Tensor v, AttentionMask mask, float dropout, long seed,
                         Tensor out, Tensor rowStats, Tensor dOut, Tensor dq, Tensor dk, Tensor dv) {
        AttentionGeometry g = AttentionGeometry.of(q, k, v, mask);
        if (!out.sameShape(q) || !dOut.sameShape(q) || rowStats.size() != g.pairs() * g.t()
                || (dq != null && !dq.sameShape(q)) || (dk != null && !dk.sameShape(k)) || (dv != null && !dv.sameShape(v))) {
            throw new IllegalArgumentException("attention backward needs out, dOut, dq like q " + q + ", rowStats [B, H, T] and dk, dv like k "
                    + k + ", got " + out + ", " + dOut + ", " + dq + ", " + rowStats + ", " + dk + ", " + dv);
        }
        if ((dq == null && dk == null && dv == null) || g.pairs() * g.t() * g.s() == 0) return;
        Operands o = new Operands(f32(q), AttentionGeometry.rows(k), AttentionGeometry.rows(v), f32(out), f32(rowStats),
                f32(dOut), dq == null ? null : f32(dq), dk == null ? null : f32(dk), dv == null ? null : f32(dv));
        long work = 10L * g.t() * g.hs() * Math.min(g.s(), g.mask().isLocal() ? g.mask().window() + VL : g.s());
        pool.over(present(o)).forRange(g.pairs(), CpuParallel.grain(work), (from, to) -> {
            Scratch sc = SCRATCH.get().forWidth(g.paddedWidth());
            for (long p = from; p < to; p++) {
                for (int i0 = 0; i0 < g.t(); i0 += VL) group(g, p, i0, dropout, seed, o, sc);
            }
        });
    }

    private static MemorySegment[] present(Operands o) {
        return Arrays.stream(new MemorySegment[] {o.q(), o.k(), o.v(), o.out(), o.stats(), o.dOut(), o.dq(), o.dk(), o.dv()})
                .filter(s -> s != null).toArray(MemorySegment[]::new);
    }

    /** Rows i0 .. i0 + VL of pair p (those below T): their contributions to dq, dk and dv. */
    private static void group(AttentionGeometry g, long p, int i0, float dropout, long seed, Operands o, Scratch sc) {
        int hs = g.hs(), w = sc.width, rows = Math.min(VL, g.t() - i0);
        boolean scoreGradients = o.dq() != null || o.dk() != null;
        AttentionTiles.load(o.q(), g.queryRow(p, i0), hs, rows, hs, sc.queryRows, w, VL);     // [VL][w]
        AttentionTiles.transpose(sc.queryRows, w, sc.queryLanes);                            // [w][VL]
        AttentionTiles.load(o.dOut(), g.queryRow(p, i0), hs, rows, hs, sc.gradRows, w, VL);
        AttentionTiles.transpose(sc.gradRows, w, sc.gradLanes);
        AttentionTiles.load(o.out(), g.queryRow(p, i0), hs, rows, hs, sc.outRows, w, VL);
        AttentionTiles.transpose(sc.outRows, w, sc.outLanes);
        rowDots(sc.outLanes, sc.gradLanes, w, sc.rowDots);                                // D = rowsum(dO ⊙ O)
        for (int r = 0; r < VL; r++) sc.lse[r] = r < rows ? CpuVectors.get(o.stats(), p * g.t() + i0 + r) : 0f;
        int keyLo = CpuFusedAttention.bounds(g, p, i0, rows, sc.first, sc.end, sc.uniform);
        int keyHi = (int) CpuFusedAttention.max(sc.end, rows);
        float kept = 1f / (1f - dropout);

        Arrays.fill(sc.dqRows, 0f);                                                          // dS·k of these rows
        if (dropout == 0f) Arrays.fill(sc.keep, 1f);
        for (int j0 = keyLo; j0 < keyHi; j0 += KEYS) {
            int count = Math.min(KEYS, keyHi - j0), padded = AttentionTiles.paddedKeys(count);
            AttentionTiles.load(o.k(), g.keyRow(p, j0), g.kRow(), count, hs, sc.keys, w, padded);
            AttentionTiles.load(o.v(), g.valueRow(p, j0), g.vRow(), count, hs, sc.values, w, padded);
            AttentionTiles.laneDots(sc.queryLanes, sc.keys, w, padded, sc.scores);           // s [count][VL]
            if (scoreGradients) AttentionTiles.laneDots(sc.gradLanes, sc.values, w, padded, sc.dProbs); // dO·vᵀ
            exponentials(sc, count);
            for (int c = 0; c < count; c++) {
                if (dropout > 0f) CpuFusedAttention.keep(g, p, i0, rows, j0 + c, dropout, kept, seed, sc.keep);
                probabilities(sc, c, j0 + c, scoreGradients);
            }
            long tileRow = (p * g.s() + j0) * hs;                                            // dk, dv are dense
            if (o.dv() != null) {
                AttentionTiles.rowsTimes(sc.weights, VL, 1, count, rows, sc.gradRows, w, sc.tile, false);
                AttentionTiles.addTo(o.dv(), tileRow, count, hs, sc.tile, w);               // dv += (P⊙M)ᵀ·dO
            }
            if (o.dk() != null) {
                AttentionTiles.rowsTimes(sc.scores, VL, 1, count, rows, sc.queryRows, w, sc.tile, false);
                AttentionTiles.addTo(o.dk(), tileRow, count, hs, sc.tile, w);               // dk += dSᵀ·q
            }
            if (o.dq() != null) AttentionTiles.rowsTimes(sc.scores, 1, VL, rows, count, sc.keys, w, sc.dqRows, true);
        }
        if (o.dq() != null) AttentionTiles.addTo(o.dq(), g.queryRow(p, i0), rows, hs, sc.dqRows, w);   // dq += dS·k
    }

    // The steps below take and give arrays, never vectors, and exp goes through CpuMath's array form: a
    // vector handed to a call that C2 does not inline (group() is past its node cutoff) is allocated on the heap.

    /** into [VL] = Σ_d outLanes[d]·gradLanes[d], lane by lane in d order (D = rowsum(dO ⊙ O) of each row). */
    private static void rowDots(float[] outLanes, float[] gradLanes, int w, float[] into) {
        FloatVector sum = FloatVector.zero(F);
        for (int d = 0; d < w; d++) {
            sum = FloatVector.fromArray(F, outLanes, d * VL).fma(FloatVector.fromArray(F, gradLanes, d * VL), sum);
        }
        sum.intoArray(into, 0);
    }

    /** weights [count][VL] = exp(s − lse) of the tile's scores (s = 0 for uniform rows), before the mask. */
    private static void exponentials(Scratch sc, int count) {
        VectorMask<Float> uniform = VectorMask.fromArray(F, sc.uniform, 0);
        FloatVector lse = FloatVector.fromArray(F, sc.lse, 0);
        for (int c = 0; c < count; c++) {
            FloatVector.fromArray(F, sc.scores, c * VL).blend(0f, uniform).sub(lse).intoArray(sc.weights, c * VL);
        }
        CpuMath.exp(sc.weights, 0, count * VL);
    }

    /**
     * Key j (slot c of the tile), from its {@link #exponentials} and dO·vᵀ: weights[c] = P⊙M with
     * P = exp(s − lse), 0 where hidden, and M = sc.keep, and with {@code scoreGradients}
     * scores[c] = dS = P⊙(dP⊙M − D).
     */
    private static void probabilities(Scratch sc, int c, float j, boolean scoreGradients) {
        FloatVector first = FloatVector.fromArray(F, sc.first, 0), end = FloatVector.fromArray(F, sc.end, 0);
        VectorMask<Float> visible = first.compare(VectorOperators.LE, j).and(end.compare(VectorOperators.GT, j));
        FloatVector prob = FloatVector.fromArray(F, sc.weights, c * VL).blend(0f, visible.not());
        FloatVector keep = FloatVector.fromArray(F, sc.keep, 0);
        prob.mul(keep).intoArray(sc.weights, c * VL);                                        // P⊙M
        if (scoreGradients) {
            FloatVector dProb = FloatVector.fromArray(F, sc.dProbs, c * VL).mul(keep);
            prob.mul(dProb.sub(FloatVector.fromArray(F, sc.rowDots, 0))).intoArray(sc.scores, c * VL); // dS = P⊙(dP − D)
        }
    }
}
