package org.gptneo.backend.cpu;

import static org.gptneo.backend.KernelChecks.requireSameSize;
import static org.gptneo.backend.cpu.CpuVectors.D;
import static org.gptneo.backend.cpu.CpuVectors.F;
import static org.gptneo.backend.cpu.CpuVectors.F_HALF;
import static org.gptneo.backend.cpu.CpuVectors.LE;
import static org.gptneo.backend.cpu.CpuVectors.VL;
import static org.gptneo.backend.cpu.CpuVectors.bound;
import static org.gptneo.backend.cpu.CpuVectors.f32;
import static org.gptneo.backend.cpu.CpuVectors.get;
import static org.gptneo.backend.cpu.CpuVectors.set;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.gptneo.backend.DropoutHash;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/** Whole-tensor arithmetic, sums, bias, layout and dropout kernels. Vector loops with scalar tails. */
final class CpuElementwise {
    /** Elements per piece of a streaming loop. */
    private static final long STREAM_GRAIN = CpuParallel.MIN_PIECE_WORK;

    private CpuElementwise() {}

    static void fill(CpuParallel pool, Tensor t, float value) {
        MemorySegment x = f32(t);
        FloatVector v = FloatVector.broadcast(F, value);
        pool.over(x).forRange(t.size(), STREAM_GRAIN, (from, to) -> {
            long i = from;
            for (long end = from + bound(to - from, VL); i < end; i += VL) v.intoMemorySegment(x, i * Float.BYTES, LE); // [n]
            for (; i < to; i++) set(x, i, value);
        });
    }

    static void copy(CpuParallel pool, Tensor src, Tensor dst) {
        requireSameSize(src, dst);
        if (!src.isContiguous() || !dst.isContiguous()) {
            copyStrided(src, dst);
        } else if (src.dtype() == DType.F32 && dst.dtype() == DType.F32) {
            MemorySegment.copy(src.data(), 0, dst.data(), 0, src.size() * Float.BYTES);
        } else {
            dst.copyFrom(src);
        }
    }

    /** Row by row for views whose last dimension is dense (a KV cache slot range, say). */
    private static void copyStrided(Tensor src, Tensor dst) {
        if (!src.sameShape(dst) || src.dtype() != dst.dtype() || src.rank() == 0
                || src.strides()[src.rank() - 1] != 1 || dst.strides()[dst.rank() - 1] != 1) {
            throw new IllegalArgumentException("a strided copy needs equal shapes and dtypes with a dense last"
                    + " dimension: " + src + " → " + dst);
        }
        long row = src.dim(-1), bytes = row * src.dtype().byteSize();
        MemorySegment from = src.data(), to = dst.data();
        for (long r = 0, rows = src.size() / Math.max(1, row); r < rows; r++) {
            MemorySegment.copy(from, src.offsetOf(r * row) * src.dtype().byteSize(),
                    to, dst.offsetOf(r * row) * dst.dtype().byteSize(), bytes);
        }
    }

    static void add(CpuParallel pool, Tensor a, Tensor b, Tensor out) {
        requireSameSize(a, b);
        requireSameSize(a, out);
        MemorySegment x = f32(a), y = f32(b), o = f32(out);
        pool.over(x, y, o).forRange(a.size(), STREAM_GRAIN, (from, to) -> {
            long i = from;
            for (long end = from + bound(to - from, VL); i < end; i += VL) { // [n]
                long at = i * Float.BYTES;
                FloatVector xv = FloatVector.fromMemorySegment(F, x, at, LE), yv = FloatVector.fromMemorySegment(F, y, at, LE);
                xv.add(yv).intoMemorySegment(o, at, LE);
            }
            for (; i < to; i++) set(o, i, get(x, i) + get(y, i));
        });
    }

    static void mul(CpuParallel pool, Tensor a, Tensor b, Tensor out) {
        requireSameSize(a, b);
        requireSameSize(a, out);
        MemorySegment x = f32(a), y = f32(b), o = f32(out);
        pool.over(x, y, o).forRange(a.size(), STREAM_GRAIN, (from, to) -> {
            long i = from;
            for (long end = from + bound(to - from, VL); i < end; i += VL) { // [n]
                long at = i * Float.BYTES;
                FloatVector xv = FloatVector.fromMemorySegment(F, x, at, LE), yv = FloatVector.fromMemorySegment(F, y, at, LE);
                xv.mul(yv).intoMemorySegment(o, at, LE);
            }
            for (; i < to; i++) set(o, i, get(x, i) * get(y, i));
        });
    }

    static void axpy(CpuParallel pool, float alpha, Tensor x, Tensor y) {
        requireSameSize(x, y);
        MemorySegment xs = f32(x), ys = f32(y);
        pool.over(xs, ys).forRange(x.size(), STREAM_GRAIN, (from, to) -> {
            long i = from;
            for (long end = from + bound(to - from, VL); i < end; i += VL) {
                long at = i * Float.BYTES;
                FloatVector xv = FloatVector.fromMemorySegment(F, xs, at, LE), yv = FloatVector.fromMemorySegment(F, ys, at, LE);
                yv.add(xv.mul(alpha)).intoMemorySegment(ys, at, LE); // [n]
            }
            for (; i < to; i++) set(ys, i, get(ys, i) + alpha * get(xs, i));
        });
    }

    static void scale(CpuParallel pool, Tensor t, float s) {
        MemorySegment x = f32(t);
        pool.over(x).forRange(t.size(), STREAM_GRAIN, (from, to) -> {
            long i = from;
            for (long end = from + bound(to - from, VL); i < end; i += VL) { // [n]
                long at = i * Float.BYTES;
                FloatVector.fromMemorySegment(F, x, at, LE).mul(s).intoMemorySegment(x, at, LE);
            }
            for (; i < to; i++) set(x, i, get(x, i) * s);
        });
    }

    /** Σ x², widened to double before squaring; pieces are summed in order, whatever the thread count. */
    static double sumOfSquares(CpuParallel pool, Tensor t) {
        MemorySegment x = f32(t);
        double[] partial = new double[Math.toIntExact(Math.ceilDiv(t.size(), STREAM_GRAIN))];
        pool.over(x).forRange(t.size(), STREAM_GRAIN, (from, to) -> {
            DoubleVector acc = DoubleVector.zero(D);
            long i = from;
            for (long end = from + bound(to - from, D.length()); i < end; i += D.length()) { // [n]
                DoubleVector v = (DoubleVector) FloatVector.fromMemorySegment(F_HALF, x, i * Float.BYTES, LE)
                        .convertShape(VectorOperators.F2D, D, 0);
                acc = v.fma(v, acc);
            }
            double total = Lanes.sum(acc);
            for (; i < to; i++) total += (double) get(x, i) * get(x, i);
            partial[(int) (from / STREAM_GRAIN)] = total;
        });
        return inOrder(partial);
    }

    /** Σ x, widened to double; pieces are summed in order. */
    static double sum(CpuParallel pool, Tensor t) {
        MemorySegment x = f32(t);
        double[] partial = new double[Math.toIntExact(Math.ceilDiv(t.size(), STREAM_GRAIN))];
        pool.over(x).forRange(t.size(), STREAM_GRAIN, (from, to) -> {
            DoubleVector acc = DoubleVector.zero(D);
            long i = from;
            for (long end = from + bound(to - from, D.length()); i < end; i += D.length()) { // [n]
                acc = acc.add((DoubleVector) FloatVector.fromMemorySegment(F_HALF, x, i * Float.BYTES, LE)
                        .convertShape(VectorOperators.F2D, D, 0));
            }
            double total = Lanes.sum(acc);
            for (; i < to; i++) total += get(x, i);
            partial[(int) (from / STREAM_GRAIN)] = total;
        });
        return inOrder(partial);
    }

    private static double inOrder(double[] partial) {
        double total = 0;
        for (double p : partial) total += p;
        return total;
    }

    static void addBias(CpuParallel pool, Tensor x, Tensor bias) {
        int c = bias.dim(-1);
        MemorySegment xs = f32(x), bs = f32(bias);
        pool.over(xs, bs).forRange(x.size() / c, CpuParallel.grain(c), (from, to) -> {
            for (long r = from; r < to; r++) { // [N, C]
                long row = r * c;
                int j = 0;
                for (int end = bound(c, VL); j < end; j += VL) {
                    long at = (row + j) * Float.BYTES;
                    FloatVector b = FloatVector.fromMemorySegment(F, bs, j * (long) Float.BYTES, LE);
                    FloatVector.fromMemorySegment(F, xs, at, LE).add(b).intoMemorySegment(xs, at, LE);
                }
                for (; j < c; j++) set(xs, row + j, get(xs, row + j) + get(bs, j));
            }
        });
    }

    /** dBias [C] += Σ_rows dy [N, C]: split by columns, so every sum runs over the rows in order. */
    static void addBiasBackward(CpuParallel pool, Tensor dy, Tensor dBias) {
        int c = dBias.dim(-1);
        long rows = dy.size() / c;
        MemorySegment dys = f32(dy), db = f32(dBias);
        long columnsPerPiece = CpuVectors.wholeVectors(CpuParallel.grain(rows));
        pool.over(dys, db).forRange(c, columnsPerPiece, (from, to) -> {
            int c0 = (int) from, width = (int) (to - from);
            float[] acc = new float[width];
            MemorySegment.copy(db, CpuVectors.FLOAT, c0 * (long) Float.BYTES, acc, 0, width);
            for (long r = 0; r < rows; r++) { // [N, c0 .. c0+width)
                long row = r * c + c0;
                int j = 0;
                for (int end = bound(width, VL); j < end; j += VL) {
                    FloatVector g = FloatVector.fromMemorySegment(F, dys, (row + j) * Float.BYTES, LE);
                    FloatVector.fromArray(F, acc, j).add(g).intoArray(acc, j);
                }
                for (; j < width; j++) acc[j] += get(dys, row + j);
            }
            MemorySegment.copy(acc, 0, db, CpuVectors.FLOAT, c0 * (long) Float.BYTES, width);
        });
    }

    /** out [A, C, B, D] = x [A, B, C, D] (+ out when accumulating), one contiguous D-row at a time. */
    static void swapMiddle(CpuParallel pool, Tensor x, Tensor out, boolean accumulate) {
        requireSameSize(x, out);
        int b = x.dim(1), c = x.dim(2), d = x.dim(3);
        MemorySegment xs = f32(x), os = f32(out);
        pool.over(xs, os).forRange((long) x.dim(0) * b, CpuParallel.grain((long) c * d), (from, to) -> {
            for (long ij = from; ij < to; ij++) { // (i, j) of [A, B]
                long i = ij / b, j = ij % b;
                for (int k = 0; k < c; k++) {
                    long src = (ij * c + k) * d, dst = ((i * c + k) * b + j) * d;
                    if (accumulate) addRow(xs, src, os, dst, d);
                    else MemorySegment.copy(xs, src * Float.BYTES, os, dst * Float.BYTES, (long) d * Float.BYTES);
                }
            }
        });
    }

    /**
     * out[dst .. dst+d) += x[src .. src+d). A method of its own: inside swapMiddle's loop, C2 deoptimised
     * the loop once its hoisted range checks failed and recompiled it without inlining the vector
     * calls, so each backward step allocated about 190 KB of heap a token in boxed vectors
     * (docs/performance.md, "A backward copy on the heap").
     */
    private static void addRow(MemorySegment xs, long src, MemorySegment os, long dst, int d) {
        int l = 0;
        for (int end = bound(d, VL); l < end; l += VL) { // [d]
            long dstAt = (dst + l) * Float.BYTES, srcAt = (src + l) * Float.BYTES;
            FloatVector.fromMemorySegment(F, os, dstAt, LE).add(FloatVector.fromMemorySegment(F, xs, srcAt, LE))
                    .intoMemorySegment(os, dstAt, LE);
        }
        for (; l < d; l++) set(os, dst + l, get(os, dst + l) + get(xs, src + l));
    }

    /** Element i depends only on (seed, i) through {@link DropoutHash}, so any split gives the reference's bits. */
    static void dropoutMask(CpuParallel pool, Tensor mask, float p, long seed) {
        MemorySegment m = f32(mask);
        float keep = 1f / (1f - p);
        pool.over(m).forRange(mask.size(), CpuParallel.grain(16), (from, to) -> {
            for (long i = from; i < to; i++) set(m, i, DropoutHash.uniform(seed, i) < p ? 0f : keep); // [n]
        });
    }
}
