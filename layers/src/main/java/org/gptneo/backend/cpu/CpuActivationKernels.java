package org.gptneo.backend.cpu;

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

/** gelu_new forward and backward with the Vector API's lanewise tanh, and exp (a feature map) with its lanewise exp. */
final class CpuActivationKernels {
    private static final float K = (float) SQRT_2_OVER_PI;
    /** Roughly the cost of one element (tanh dominates) in element operations. */
    private static final long WORK_PER_ELEMENT = 16;

    private CpuActivationKernels() {}

    static void geluNew(CpuParallel pool, Tensor x, Tensor out) {
        requireSameSize(x, out);
        MemorySegment xs = f32(x), os = f32(out);
        pool.over(xs, os).forRange(x.size(), CpuParallel.grain(WORK_PER_ELEMENT), (from, to) -> {
            long i = from;
            for (long end = from + bound(to - from, VL); i < end; i += VL) { // [n]
                FloatVector v = load(xs, i);
                FloatVector t = CpuMath.tanh(v.add(v.mul(COEFF).mul(v).mul(v)).mul(K));
                store(v.mul(0.5f).mul(t.add(1f)), os, i);
            }
            for (; i < to; i++) {
                float v = get(xs, i);
                float t = CpuMath.tanh(K * (v + COEFF * v * v * v));
                set(os, i, 0.5f * v * (1f + t));
            }
        });
    }

    /** dx += (0.5·(1 + t) + 0.5·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²))·dOut with t = tanh(u). */
    static void geluNewBackward(CpuParallel pool, Tensor x, Tensor dOut, Tensor dx) {
        requireSameSize(x, dOut);
        requireSameSize(x, dx);
        MemorySegment xs = f32(x), dos = f32(dOut), dxs = f32(dx);
        pool.over(xs, dos, dxs).forRange(x.size(), CpuParallel.grain(WORK_PER_ELEMENT), (from, to) -> {
            long i = from;
            for (long end = from + bound(to - from, VL); i < end; i += VL) { // [n]
                FloatVector v = load(xs, i);
                FloatVector t = CpuMath.tanh(v.add(v.mul(COEFF).mul(v).mul(v)).mul(K));
                FloatVector du = v.mul(3f * COEFF).mul(v).add(1f).mul(K);
                FloatVector grad = t.add(1f).mul(0.5f).add(v.mul(0.5f).mul(t.mul(t).neg().add(1f)).mul(du));
                store(load(dxs, i).add(grad.mul(load(dos, i))), dxs, i);
            }
            for (; i < to; i++) {
                float v = get(xs, i);
                float t = CpuMath.tanh(K * (v + COEFF * v * v * v));
                float du = K * (1f + 3f * COEFF * v * v);
                float grad = 0.5f * (1f + t) + 0.5f * v * (1f - t * t) * du;
                set(dxs, i, get(dxs, i) + grad * get(dos, i));
            }
        });
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
