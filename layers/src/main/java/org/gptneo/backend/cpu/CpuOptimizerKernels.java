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
import org.gptneo.backend.AdamWStep;
import org.gptneo.backend.KernelChecks;
import org.gptneo.tensor.Tensor;

/** The AdamW update, with the reference's float operations in the reference's order. */
final class CpuOptimizerKernels {
    private static final long WORK_PER_PARAMETER = 16;

    private CpuOptimizerKernels() {}

    static void adamW(CpuParallel pool, Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep s) {
        KernelChecks.requireSameSize(param, grad);
        KernelChecks.requireSameSize(param, m);
        KernelChecks.requireSameSize(param, v);
        MemorySegment ps = f32(param), gs = f32(grad), ms = f32(m), vs = f32(v);
        float stepSize = (float) (s.lr() / (1 - Math.pow(s.beta1(), s.step())));
        float bias2Sqrt = (float) Math.sqrt(1 - Math.pow(s.beta2(), s.step()));
        float decay = 1f - s.lr() * s.weightDecay();
        float b1 = s.beta1(), b2 = s.beta2(), g1 = 1f - b1, g2 = 1f - b2, eps = s.eps();
        pool.over(ps, gs, ms, vs).forRange(param.size(), CpuParallel.grain(WORK_PER_PARAMETER), (from, to) -> {
            long i = from;
            for (long end = from + bound(to - from, VL); i < end; i += VL) { // [n]
                long at = i * Float.BYTES;
                FloatVector g = FloatVector.fromMemorySegment(F, gs, at, LE);
                FloatVector p = FloatVector.fromMemorySegment(F, ps, at, LE).mul(decay);
                FloatVector mi = FloatVector.fromMemorySegment(F, ms, at, LE).mul(b1).add(g.mul(g1));
                FloatVector vi = FloatVector.fromMemorySegment(F, vs, at, LE).mul(b2).add(g.mul(g2).mul(g));
                FloatVector denom = vi.lanewise(VectorOperators.SQRT).div(bias2Sqrt).add(eps);
                p.sub(mi.mul(stepSize).div(denom)).intoMemorySegment(ps, at, LE);
                mi.intoMemorySegment(ms, at, LE);
                vi.intoMemorySegment(vs, at, LE);
            }
            for (; i < to; i++) {
                float g = get(gs, i);
                float p = get(ps, i) * decay;
                float mi = b1 * get(ms, i) + g1 * g;
                float vi = b2 * get(vs, i) + g2 * g * g;
                float denom = (float) Math.sqrt(vi) / bias2Sqrt + eps;
                set(ps, i, p - stepSize * mi / denom);
                set(ms, i, mi);
                set(vs, i, vi);
            }
        });
    }
}
