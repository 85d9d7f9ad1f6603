package org.gptneo.backend.cpu;

import static org.gptneo.backend.cpu.CpuVectors.F;
import static org.gptneo.backend.cpu.CpuVectors.FLOAT;
import static org.gptneo.backend.cpu.CpuVectors.VL;
import static org.gptneo.backend.cpu.CpuVectors.bound;
import static org.gptneo.backend.cpu.CpuVectors.f32;
import static org.gptneo.backend.cpu.CpuVectors.get;
import static org.gptneo.backend.cpu.CpuVectors.load;
import static org.gptneo.backend.cpu.CpuVectors.set;
import static org.gptneo.backend.cpu.CpuVectors.store;
import static org.gptneo.backend.GeluNew.COEFF;
import static org.gptneo.backend.GeluNew.SQRT_2_OVER_PI;
import static org.gptneo.backend.KernelChecks.requireSameSize;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import org.gptneo.tensor.Tensor;

/** gelu_new forward and backward with {@link CpuMath}'s tanh, and exp (a feature map) with its exp. */
final class CpuActivationKernels {
    private static final float K = (float) SQRT_2_OVER_PI;
    /** Roughly the cost of one element (tanh dominates) in element operations. */
    private static final long WORK_PER_ELEMENT = 16;
    /**
     * Elements a thread copies into its arrays, computes on and copies back at a time. The kernels run
     * on float[] rather than on the segments: with segment loads and stores around tanh, the method
     * grew past what C2 inlines into one compilation (its node-count cutoff), the store was left as a
     * call, and every vector was allocated on the heap on its way to it (about 96 bytes per 16
     * elements; gelu_new 1.3-16 ns per element against 1.0 with the copies, one thread).
     */
    private static final int CHUNK = 1024;

    /** Per thread: a chunk of x, and of dOut and dx for the backward pass. */
    private static final ThreadLocal<Chunks> CHUNKS = ThreadLocal.withInitial(Chunks::new);

    private static final class Chunks {
        final float[] x = new float[CHUNK], dOut = new float[CHUNK], dx = new float[CHUNK];

        static Chunks get() {
            return CHUNKS.get();
        }
    }

    private CpuActivationKernels() {}

    static void geluNew(CpuParallel pool, Tensor x, Tensor out) {
        requireSameSize(x, out);
        MemorySegment xs = f32(x), os = f32(out);
        pool.over(xs, os).forRange(x.size(), CpuParallel.grain(WORK_PER_ELEMENT), (from, to) -> {
            float[] v = Chunks.get().x;
            for (long i = from; i < to; i += CHUNK) {
                int count = (int) Math.min(CHUNK, to - i);
                MemorySegment.copy(xs, FLOAT, i * Float.BYTES, v, 0, count);
                geluNew(v, count);
                MemorySegment.copy(v, 0, os, FLOAT, i * Float.BYTES, count);
            }
        });
    }

    /** v[0 .. count) = gelu_new(v), in place; the scalar tail gives the vectors' bits. */
    private static void geluNew(float[] v, int count) {
        int i = 0;
        for (int end = bound(count, VL); i < end; i += VL) { // [count]
            FloatVector x = FloatVector.fromArray(F, v, i);
            FloatVector t = CpuMath.tanh(x.add(x.mul(COEFF).mul(x).mul(x)).mul(K));
            x.mul(0.5f).mul(t.add(1f)).intoArray(v, i);
        }
        for (; i < count; i++) {
            float x = v[i];
            float t = CpuMath.tanh(K * (x + COEFF * x * x * x));
            v[i] = 0.5f * x * (1f + t);
        }
    }

    /** dx += (0.5·(1 + t) + 0.5·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²))·dOut with t = tanh(u). */
    static void geluNewBackward(CpuParallel pool, Tensor x, Tensor dOut, Tensor dx) {
        requireSameSize(x, dOut);
        requireSameSize(x, dx);
        MemorySegment xs = f32(x), dos = f32(dOut), dxs = f32(dx);
        pool.over(xs, dos, dxs).forRange(x.size(), CpuParallel.grain(WORK_PER_ELEMENT), (from, to) -> {
            Chunks chunks = Chunks.get();
            for (long i = from; i < to; i += CHUNK) {
                int count = (int) Math.min(CHUNK, to - i);
                long at = i * Float.BYTES;
                MemorySegment.copy(xs, FLOAT, at, chunks.x, 0, count);
                MemorySegment.copy(dos, FLOAT, at, chunks.dOut, 0, count);
                MemorySegment.copy(dxs, FLOAT, at, chunks.dx, 0, count);
                geluNewBackward(chunks.x, chunks.dOut, chunks.dx, count);
                MemorySegment.copy(chunks.dx, 0, dxs, FLOAT, at, count);
            }
        });
    }

    /** dx[0 .. count) += gelu_new'(x)·dOut; the scalar tail gives the vectors' bits. */
    private static void geluNewBackward(float[] xs, float[] dOut, float[] dx, int count) {
        int i = 0;
        for (int end = bound(count, VL); i < end; i += VL) { // [count]
            FloatVector v = FloatVector.fromArray(F, xs, i);
            FloatVector t = CpuMath.tanh(v.add(v.mul(COEFF).mul(v).mul(v)).mul(K));
            FloatVector du = v.mul(3f * COEFF).mul(v).add(1f).mul(K);
            FloatVector grad = t.add(1f).mul(0.5f).add(v.mul(0.5f).mul(t.mul(t).neg().add(1f)).mul(du));
            FloatVector.fromArray(F, dx, i).add(grad.mul(FloatVector.fromArray(F, dOut, i))).intoArray(dx, i);
        }
        for (; i < count; i++) {
            float v = xs[i];
            float t = CpuMath.tanh(K * (v + COEFF * v * v * v));
            float du = K * (1f + 3f * COEFF * v * v);
            float grad = 0.5f * (1f + t) + 0.5f * v * (1f - t * t) * du;
            dx[i] += grad * dOut[i];
        }
    }

    static void exp(CpuParallel pool, Tensor x, Tensor out) {
        requireSameSize(x, out);
        MemorySegment xs = f32(x), os = f32(out);
        pool.over(xs, os).forRange(x.size(), CpuParallel.grain(WORK_PER_ELEMENT), (from, to) -> {
            long i = from;
            for (long end = from + bound(to - from, VL); i < end; i += VL) { // [n]
                store(CpuMath.exp(load(xs, i)), os, i);
            }
            for (; i < to; i++) set(os, i, CpuMath.exp(get(xs, i)));
        });
    }
}
