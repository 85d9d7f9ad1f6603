package org.gptneo.backend.cpu;

import static org.gptneo.backend.cpu.CpuVectors.F;
import static org.gptneo.backend.cpu.CpuVectors.FLOAT;
import static org.gptneo.backend.cpu.CpuVectors.VL;
import static org.gptneo.backend.cpu.CpuVectors.bound;
import static org.gptneo.backend.cpu.CpuVectors.f32;
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
     * on float[], through {@link CpuMath}'s array forms of tanh and exp. With helpers that took vectors
     * (tanh, exp, segment stores), C2 did not always inline the calls (past its node-count cutoff, or
     * once tanh was compiled large on its own), and then every vector handed to them was allocated on
     * the heap (about 96 bytes per 16 elements; gelu_new 1.3-16 ns per element against 1.0, one thread).
     */
    private static final int CHUNK = 1024;

    /** Per thread: a chunk of x, of tanh's argument and value and its scratch, and of dOut and dx for the backward pass. */
    private static final ThreadLocal<Chunks> CHUNKS = ThreadLocal.withInitial(Chunks::new);

    private static final class Chunks {
        final float[] x = new float[CHUNK], t = new float[CHUNK], scratch = new float[CHUNK], dOut = new float[CHUNK],
                dx = new float[CHUNK];

        static Chunks get() {
            return CHUNKS.get();
        }
    }

    private CpuActivationKernels() {}

    static void geluNew(CpuParallel pool, Tensor x, Tensor out) {
        requireSameSize(x, out);
        MemorySegment xs = f32(x), os = f32(out);
        pool.over(xs, os).forRange(x.size(), CpuParallel.grain(WORK_PER_ELEMENT), (from, to) -> {
            Chunks chunks = Chunks.get();
            for (long i = from; i < to; i += CHUNK) {
                int count = (int) Math.min(CHUNK, to - i);
                MemorySegment.copy(xs, FLOAT, i * Float.BYTES, chunks.x, 0, count);
                geluNew(chunks, count);
                MemorySegment.copy(chunks.x, 0, os, FLOAT, i * Float.BYTES, count);
            }
        });
    }

    /** chunks.x[0 .. count) = gelu_new(x) = 0.5·x·(1 + tanh u), in place (chunks.t holds u, then tanh u). */
    private static void geluNew(Chunks chunks, int count) {
        float[] x = chunks.x, t = chunks.t;
        tanhArgument(x, t, count);
        CpuMath.tanh(t, 0, count, chunks.scratch);
        int i = 0;
        for (int end = bound(count, VL); i < end; i += VL) { // [count]
            FloatVector v = FloatVector.fromArray(F, x, i);
            v.mul(0.5f).mul(FloatVector.fromArray(F, t, i).add(1f)).intoArray(x, i);
        }
        for (; i < count; i++) x[i] = 0.5f * x[i] * (1f + t[i]);
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
                geluNewBackward(chunks, count);
                MemorySegment.copy(chunks.dx, 0, dxs, FLOAT, at, count);
            }
        });
    }

    /** chunks.dx[0 .. count) += gelu_new'(x)·dOut (chunks.t holds u, then tanh u). */
    private static void geluNewBackward(Chunks chunks, int count) {
        float[] x = chunks.x, t = chunks.t, dOut = chunks.dOut, dx = chunks.dx;
        tanhArgument(x, t, count);
        CpuMath.tanh(t, 0, count, chunks.scratch);
        int i = 0;
        for (int end = bound(count, VL); i < end; i += VL) { // [count]
            FloatVector v = FloatVector.fromArray(F, x, i), tanh = FloatVector.fromArray(F, t, i);
            FloatVector du = v.mul(3f * COEFF).mul(v).add(1f).mul(K);
            FloatVector grad = tanh.add(1f).mul(0.5f).add(v.mul(0.5f).mul(tanh.mul(tanh).neg().add(1f)).mul(du));
            FloatVector.fromArray(F, dx, i).add(grad.mul(FloatVector.fromArray(F, dOut, i))).intoArray(dx, i);
        }
        for (; i < count; i++) {
            float v = x[i], tanh = t[i];
            float du = K * (1f + 3f * COEFF * v * v);
            float grad = 0.5f * (1f + tanh) + 0.5f * v * (1f - tanh * tanh) * du;
            dx[i] += grad * dOut[i];
        }
    }

    /** u[0 .. count) = √(2/π)·(x + 0.044715·x³), the vectors and the scalar tail in the same order. */
    private static void tanhArgument(float[] x, float[] u, int count) {
        int i = 0;
        for (int end = bound(count, VL); i < end; i += VL) { // [count]
            FloatVector v = FloatVector.fromArray(F, x, i);
            v.add(v.mul(COEFF).mul(v).mul(v)).mul(K).intoArray(u, i);
        }
        for (; i < count; i++) u[i] = K * (x[i] + COEFF * x[i] * x[i] * x[i]);
    }

    static void exp(CpuParallel pool, Tensor x, Tensor out) {
        requireSameSize(x, out);
        MemorySegment xs = f32(x), os = f32(out);
        pool.over(xs, os).forRange(x.size(), CpuParallel.grain(WORK_PER_ELEMENT), (from, to) -> {
            float[] values = Chunks.get().x;
            for (long i = from; i < to; i += CHUNK) {
                int count = (int) Math.min(CHUNK, to - i);
                MemorySegment.copy(xs, FLOAT, i * Float.BYTES, values, 0, count);
                CpuMath.exp(values, 0, count);
                MemorySegment.copy(values, 0, os, FLOAT, i * Float.BYTES, count);
            }
        });
    }
}
