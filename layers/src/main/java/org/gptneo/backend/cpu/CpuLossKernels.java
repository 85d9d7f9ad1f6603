package org.gptneo.backend.cpu;

import static org.gptneo.backend.cpu.CpuVectors.D;
import static org.gptneo.backend.cpu.CpuVectors.F;
import static org.gptneo.backend.cpu.CpuVectors.F_HALF;
import static org.gptneo.backend.cpu.CpuVectors.LE;
import static org.gptneo.backend.cpu.CpuVectors.VL;
import static org.gptneo.backend.cpu.CpuVectors.bound;
import static org.gptneo.backend.cpu.CpuVectors.f32;
import static org.gptneo.backend.cpu.CpuVectors.get;
import static org.gptneo.backend.cpu.CpuVectors.set;
import static org.gptneo.backend.KernelChecks.checkedId;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.gptneo.tensor.Tensor;

/**
 * Cross-entropy over rows of logits. As in the reference, x − max is taken in float and its exp
 * in double, and the row's logsumexp is summed in double (V is the vocabulary, ~50k terms).
 */
final class CpuLossKernels {
    /** Rough element operations per logit (two passes, a double exp). */
    private static final long WORK_PER_LOGIT = 32;
    /** Logits per double vector step: F_HALF and D have the same lane count. */
    private static final int DL = D.length();
    /** Logits whose exps go through the scratch arrays at a time (a multiple of DL; they stay in L1). */
    private static final int CHUNK = 512;
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** A chunk's x − max in float and their exps in double ({@link CpuMath#expWide}). */
    private static final class Scratch {
        final float[] differences = new float[CHUNK];
        final double[] exps = new double[CHUNK];
    }

    private CpuLossKernels() {}

    static void crossEntropy(CpuParallel pool, Tensor logits, Tensor targets, int ignoreIndex, Tensor losses) {
        int v = logits.dim(-1);
        checkTargets(targets, ignoreIndex, v);
        MemorySegment ls = f32(logits), out = f32(losses);
        long rowsPerPiece = CpuParallel.grain(WORK_PER_LOGIT * v);
        pool.over(ls, out, targets.data()).forRange(targets.size(), rowsPerPiece, (from, to) -> {
            for (long n = from; n < to; n++) { // [N, V]
                int target = targets.getInt(n);
                if (target == ignoreIndex) {
                    set(out, n, 0f);
                    continue;
                }
                long row = n * v;
                float max = rowMax(ls, row, v);
                double total = sumExp(ls, row, v, max, SCRATCH.get());
                set(out, n, (float) (max + Math.log(total) - get(ls, row + target)));
            }
        });
    }

    static void crossEntropyBackward(CpuParallel pool, Tensor logits, Tensor targets, int ignoreIndex, float scale, Tensor dLogits) {
        int v = logits.dim(-1);
        checkTargets(targets, ignoreIndex, v);
        MemorySegment ls = f32(logits), dls = f32(dLogits);
        long rowsPerPiece = CpuParallel.grain(WORK_PER_LOGIT * v);
        pool.over(ls, dls, targets.data()).forRange(targets.size(), rowsPerPiece, (from, to) -> {
            for (long n = from; n < to; n++) { // [N, V]
                int target = targets.getInt(n);
                if (target == ignoreIndex) continue;
                long row = n * v;
                float max = rowMax(ls, row, v);
                Scratch sc = SCRATCH.get();
                double total = sumExp(ls, row, v, max, sc);
                float atTarget = get(dls, row + target);
                // dLogits += scale·softmax on the whole row, then the target entry gets scale·(p − 1) instead
                int whole = bound(v, DL);
                for (int c0 = 0; c0 < whole; c0 += CHUNK) {
                    int count = Math.min(CHUNK, whole - c0);
                    exps(ls, row + c0, count, max, sc);
                    for (int i = 0; i < count; i += DL) {
                        FloatVector p = (FloatVector) DoubleVector.fromArray(D, sc.exps, i).div(total)
                                .convertShape(VectorOperators.D2F, F_HALF, 0);
                        long at = (row + c0 + i) * Float.BYTES;
                        FloatVector.fromMemorySegment(F_HALF, dls, at, LE).add(p.mul(scale)).intoMemorySegment(dls, at, LE);
                    }
                }
                for (int j = whole; j < v; j++) set(dls, row + j, get(dls, row + j) + scale * probability(ls, row + j, max, total));
                set(dls, row + target, atTarget + scale * (probability(ls, row + target, max, total) - 1f));
            }
        });
    }

    /** Every target is ignoreIndex or in [0, v), checked up front with the reference's message. */
    private static void checkTargets(Tensor targets, int ignoreIndex, int v) {
        for (long n = 0; n < targets.size(); n++) {
            if (targets.getInt(n) != ignoreIndex) checkedId(targets, n, v);
        }
    }

    private static float rowMax(MemorySegment ls, long row, int v) {
        FloatVector acc = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int j = 0;
        for (int end = bound(v, VL); j < end; j += VL) {
            acc = acc.max(FloatVector.fromMemorySegment(F, ls, (row + j) * Float.BYTES, LE));
        }
        float max = acc.reduceLanes(VectorOperators.MAX);
        for (; j < v; j++) max = Math.max(max, get(ls, row + j));
        return max;
    }

    /** Σ_j exp(logits[row + j] − max) in double: DL lanes summed across the row, then the scalar tail. */
    private static double sumExp(MemorySegment ls, long row, int v, float max, Scratch sc) {
        DoubleVector acc = DoubleVector.zero(D);
        int whole = bound(v, DL);
        for (int c0 = 0; c0 < whole; c0 += CHUNK) {
            int count = Math.min(CHUNK, whole - c0);
            exps(ls, row + c0, count, max, sc);
            for (int i = 0; i < count; i += DL) acc = acc.add(DoubleVector.fromArray(D, sc.exps, i));
        }
        double total = Lanes.sum(acc);
        for (int j = whole; j < v; j++) total += CpuMath.exp((double) (get(ls, row + j) - max));
        return total;
    }

    /** sc.exps[0 .. count) = exp(x − max) for the count logits from {@code at} (a multiple of DL): the difference in float, the exp in double. */
    private static void exps(MemorySegment ls, long at, int count, float max, Scratch sc) {
        for (int i = 0; i < count; i += DL) {
            FloatVector.fromMemorySegment(F_HALF, ls, (at + i) * Float.BYTES, LE).sub(max).intoArray(sc.differences, i);
        }
        CpuMath.expWide(sc.differences, 0, count, sc.exps);
    }

    private static float probability(MemorySegment ls, long at, float max, double total) {
        return (float) (CpuMath.exp((double) (get(ls, at) - max)) / total);
    }
}
