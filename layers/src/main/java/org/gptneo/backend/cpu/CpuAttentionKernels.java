package org.gptneo.backend.cpu;

import static org.gptneo.backend.cpu.CpuVectors.F;
import static org.gptneo.backend.cpu.CpuVectors.LE;
import static org.gptneo.backend.cpu.CpuVectors.VL;
import static org.gptneo.backend.cpu.CpuVectors.bound;
import static org.gptneo.backend.cpu.CpuVectors.f32;
import static org.gptneo.backend.cpu.CpuVectors.get;
import static org.gptneo.backend.cpu.CpuVectors.set;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.gptneo.backend.AttentionMask;
import org.gptneo.tensor.Tensor;

/**
 * The masked softmax of attention scores and its backward. A query row sees one contiguous range of
 * keys, so the mask becomes a range [lo, hi): the vector loops run over it, and the hidden keys get
 * exactly what the reference gives a score of −Float.MAX_VALUE (0, unless no key is visible).
 */
final class CpuAttentionKernels {
    /** Rough element operations per score (exp dominates). */
    private static final long WORK_PER_SCORE = 16;
    /** Per thread: scores on their way through exp, a multiple of the vector length. */
    private static final ThreadLocal<float[]> CHUNK = ThreadLocal.withInitial(() -> new float[64 * VL]);

    private CpuAttentionKernels() {}

    static void maskedSoftmax(CpuParallel pool, Tensor scores, AttentionMask mask, Tensor probs) {
        int t = scores.dim(-2), s = scores.dim(-1);
        if ((long) t * s == 0) return;
        MemorySegment sc = f32(scores), pr = f32(probs);
        pool.over(sc, pr).forRange(scores.size() / s, CpuParallel.grain(WORK_PER_SCORE * s), (from, to) -> {
            long matrices = scores.size() / ((long) t * s);
            for (long r = from; r < to; r++) { // [matrices·T, S]
                int query = s - t + (int) (r % t);
                int hi = mask.endVisible(query, s);
                int lo = Math.min(mask.firstVisible(mask.batchRow(r / t, matrices), query), hi);
                softmaxRow(sc, pr, r * s, s, lo, hi);
            }
        });
    }

    /** probs[row] = softmax of scores[row] with keys outside [lo, hi) hidden. */
    private static void softmaxRow(MemorySegment sc, MemorySegment pr, long row, int s, int lo, int hi) {
        boolean anyHidden = hi - lo < s;
        FloatVector vmax = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int j = lo;
        for (int end = lo + bound(hi - lo, VL); j < end; j += VL) {
            vmax = vmax.max(FloatVector.fromMemorySegment(F, sc, (row + j) * Float.BYTES, LE));
        }
        float max = vmax.reduceLanes(VectorOperators.MAX);
        for (; j < hi; j++) max = Math.max(max, get(sc, row + j));
        if (anyHidden) max = Math.max(max, -Float.MAX_VALUE);

        FloatVector vsum = FloatVector.zero(F);
        float[] chunk = CHUNK.get();                              // exp on an array: see CpuMath.exp(float[], int, int)
        j = lo;
        for (int end = lo + bound(hi - lo, VL); j < end; ) {
            int count = Math.min(chunk.length, end - j);
            MemorySegment.copy(sc, CpuVectors.FLOAT, (row + j) * Float.BYTES, chunk, 0, count);
            for (int c = 0; c < count; c += VL) FloatVector.fromArray(F, chunk, c).sub(max).intoArray(chunk, c);
            CpuMath.exp(chunk, 0, count);
            for (int c = 0; c < count; c += VL) vsum = vsum.add(FloatVector.fromArray(F, chunk, c));
            MemorySegment.copy(chunk, 0, pr, CpuVectors.FLOAT, (row + j) * Float.BYTES, count);
            j += count;
        }
        float total = Lanes.sum(vsum);
        for (; j < hi; j++) {
            float e = CpuMath.exp(get(sc, row + j) - max);
            set(pr, row + j, e);
            total += e;
        }
        float hidden = anyHidden ? CpuMath.exp(-Float.MAX_VALUE - max) : 0f;
        total += (s - (hi - lo)) * hidden;

        j = lo;
        for (int end = lo + bound(hi - lo, VL); j < end; j += VL) {
            long at = (row + j) * Float.BYTES;
            FloatVector.fromMemorySegment(F, pr, at, LE).div(total).intoMemorySegment(pr, at, LE);
        }
        for (; j < hi; j++) set(pr, row + j, get(pr, row + j) / total);
        float hiddenProb = hidden / total;
        for (j = 0; j < lo; j++) set(pr, row + j, hiddenProb);
        for (j = hi; j < s; j++) set(pr, row + j, hiddenProb);
    }

    static void softmaxBackward(CpuParallel pool, Tensor probs, Tensor dProbs, Tensor dScores) {
        int s = probs.dim(-1);
        if (s == 0) return;
        MemorySegment ps = f32(probs), dps = f32(dProbs), dss = f32(dScores);
        pool.over(ps, dps, dss).forRange(probs.size() / s, CpuParallel.grain(4L * s), (from, to) -> {
            for (long r = from; r < to; r++) { // [rows, S]
                long row = r * s;
                FloatVector acc = FloatVector.zero(F);
                int j = 0;
                for (int end = bound(s, VL); j < end; j += VL) {
                    long at = (row + j) * Float.BYTES;
                    acc = FloatVector.fromMemorySegment(F, ps, at, LE).fma(FloatVector.fromMemorySegment(F, dps, at, LE), acc);
                }
                float dot = Lanes.sum(acc);
                for (; j < s; j++) dot += get(ps, row + j) * get(dps, row + j);
                j = 0;
                for (int end = bound(s, VL); j < end; j += VL) {
                    long at = (row + j) * Float.BYTES;
                    FloatVector p = FloatVector.fromMemorySegment(F, ps, at, LE);
                    FloatVector d = FloatVector.fromMemorySegment(F, dps, at, LE).sub(dot);
                    FloatVector.fromMemorySegment(F, dss, at, LE).add(p.mul(d)).intoMemorySegment(dss, at, LE);
                }
                for (; j < s; j++) set(dss, row + j, get(dss, row + j) + get(ps, row + j) * (get(dps, row + j) - dot));
            }
        });
    }
}
