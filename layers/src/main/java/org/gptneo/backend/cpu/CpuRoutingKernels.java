package org.gptneo.backend.cpu;

import static org.gptneo.backend.KernelChecks.checkedRow;
import static org.gptneo.backend.KernelChecks.requireSameSize;
import static org.gptneo.backend.KernelChecks.requireScatterShapes;
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
import org.gptneo.tensor.Tensor;

/**
 * The data movement of a mixture of experts: the weighted scatter-add of expert outputs back to
 * their tokens and its backward, and the renormalisation of the top-k gate weights.
 */
final class CpuRoutingKernels {
    private CpuRoutingKernels() {}

    /**
     * out[rows[m]] += weights[m]·src[m]. Repeated rows collide, so the work is split by columns:
     * each column slice walks all M rows in order (the reference's order, product then sum).
     */
    static void scatterAddRows(CpuParallel pool, Tensor src, Tensor weights, Tensor rows, Tensor out) {
        requireScatterShapes(src, weights, rows, out);
        int c = out.dim(1);
        int[] targets = checkedRows(rows, out.dim(0));
        MemorySegment ss = f32(src), ws = f32(weights), os = f32(out);
        long columnsPerPiece = CpuVectors.wholeVectors(CpuParallel.grain(2L * targets.length));
        pool.over(ss, ws, os).forRange(c, columnsPerPiece, (from, to) -> {
            int c0 = (int) from, width = (int) (to - from);
            for (int m = 0; m < targets.length; m++) { // src [M, c0 .. c0+width) → out [R, c0 .. c0+width)
                float w = get(ws, m);
                long from0 = (long) m * c + c0, to0 = (long) targets[m] * c + c0;
                int j = 0;
                for (int end = bound(width, VL); j < end; j += VL) {
                    long sum = (to0 + j) * Float.BYTES;
                    FloatVector scaled = FloatVector.fromMemorySegment(F, ss, (from0 + j) * Float.BYTES, LE).mul(w);
                    FloatVector.fromMemorySegment(F, os, sum, LE).add(scaled).intoMemorySegment(os, sum, LE);
                }
                for (; j < width; j++) set(os, to0 + j, get(os, to0 + j) + w * get(ss, from0 + j));
            }
        });
    }

    /** dSrc[m] += weights[m]·dOut[rows[m]]; dWeights[m] += dOut[rows[m]]·src[m]. Each m writes only its own row. */
    static void scatterAddRowsBackward(CpuParallel pool, Tensor dOut, Tensor src, Tensor weights, Tensor rows,
                                       Tensor dSrc, Tensor dWeights) {
        requireScatterShapes(src, weights, rows, dOut);
        requireSameSize(src, dSrc);
        requireSameSize(weights, dWeights);
        int c = dOut.dim(1);
        int[] targets = checkedRows(rows, dOut.dim(0));
        MemorySegment dos = f32(dOut), ss = f32(src), ws = f32(weights), dss = f32(dSrc), dws = f32(dWeights);
        pool.over(dos, ss, ws, dss, dws).forRange(targets.length, CpuParallel.grain(3L * c), (from, to) -> {
            for (int m = (int) from; m < to; m++) { // [M, C]
                float w = get(ws, m);
                long at = (long) m * c, back = (long) targets[m] * c;
                FloatVector dots = FloatVector.zero(CpuVectors.F);
                int j = 0;
                for (int end = bound(c, VL); j < end; j += VL) {
                    FloatVector g = FloatVector.fromMemorySegment(F, dos, (back + j) * Float.BYTES, LE);
                    long own = (at + j) * Float.BYTES;
                    FloatVector.fromMemorySegment(F, dss, own, LE).add(g.mul(w)).intoMemorySegment(dss, own, LE);
                    dots = g.fma(FloatVector.fromMemorySegment(F, ss, own, LE), dots);
                }
                float dot = dots.reduceLanes(VectorOperators.ADD);
                for (; j < c; j++) {
                    float g = get(dos, back + j);
                    set(dss, at + j, get(dss, at + j) + w * g);
                    dot += g * get(ss, at + j);
                }
                set(dws, m, get(dws, m) + dot);
            }
        });
    }

    /** out = x / (Σ_k x + eps) per row of x [N, K]; K is small (the top-k), so rows are the unit of work. */
    static void normalizeRows(CpuParallel pool, Tensor x, float eps, Tensor out) {
        requireSameSize(x, out);
        int k = x.dim(-1);
        MemorySegment xs = f32(x), os = f32(out);
        pool.over(xs, os).forRange(x.size() / k, CpuParallel.grain(2L * k), (from, to) -> {
            for (long n = from; n < to; n++) { // [N, K]
                float denominator = rowSum(xs, n * k, k) + eps;
                for (int j = 0; j < k; j++) set(os, n * k + j, get(xs, n * k + j) / denominator);
            }
        });
    }

    /** dx += (dOut − Σ_j dOut·out) / (Σ_j x + eps) per row. */
    static void normalizeRowsBackward(CpuParallel pool, Tensor x, Tensor out, Tensor dOut, float eps, Tensor dx) {
        requireSameSize(x, out);
        requireSameSize(x, dOut);
        requireSameSize(x, dx);
        int k = x.dim(-1);
        MemorySegment xs = f32(x), os = f32(out), dos = f32(dOut), dxs = f32(dx);
        pool.over(xs, os, dos, dxs).forRange(x.size() / k, CpuParallel.grain(4L * k), (from, to) -> {
            for (long n = from; n < to; n++) { // [N, K]
                long at = n * k;
                float denominator = rowSum(xs, at, k) + eps;
                float dot = 0f;
                for (int j = 0; j < k; j++) dot += get(dos, at + j) * get(os, at + j);
                for (int j = 0; j < k; j++) set(dxs, at + j, get(dxs, at + j) + (get(dos, at + j) - dot) / denominator);
            }
        });
    }

    private static float rowSum(MemorySegment s, long at, int k) {
        float sum = 0f;
        for (int j = 0; j < k; j++) sum += get(s, at + j);
        return sum;
    }

    private static int[] checkedRows(Tensor rows, int limit) {
        int[] out = new int[Math.toIntExact(rows.size())];
        for (int m = 0; m < out.length; m++) out[m] = checkedRow(rows, m, limit);
        return out;
    }
}
