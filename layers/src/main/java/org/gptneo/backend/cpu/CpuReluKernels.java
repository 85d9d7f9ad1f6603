package org.gptneo.backend.cpu;

import static org.gptneo.backend.KernelChecks.requireSameSize;
import static org.gptneo.backend.cpu.CpuVectors.F;
import static org.gptneo.backend.cpu.CpuVectors.LE;
import static org.gptneo.backend.cpu.CpuVectors.VL;
import static org.gptneo.backend.cpu.CpuVectors.bound;
import static org.gptneo.backend.cpu.CpuVectors.f32;
import static org.gptneo.backend.cpu.CpuVectors.get;
import static org.gptneo.backend.cpu.CpuVectors.set;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import org.gptneo.tensor.Tensor;

/** relu forward (Math.max semantics: NaN stays NaN) and backward, lane by lane. */
final class CpuReluKernels {
    private CpuReluKernels() {}

    static void relu(CpuParallel pool, Tensor x, Tensor out) {
        requireSameSize(x, out);
        MemorySegment xs = f32(x), os = f32(out);
        pool.over(xs, os).forRange(x.size(), CpuParallel.grain(1), (from, to) -> {
            long i = from;
            for (long end = from + bound(to - from, VL); i < end; i += VL) { // [n]
                FloatVector.fromMemorySegment(F, xs, i * Float.BYTES, LE).max(0f).intoMemorySegment(os, i * Float.BYTES, LE);
            }
            for (; i < to; i++) set(os, i, Math.max(get(xs, i), 0f));
        });
    }

    /** dx += dOut where x &gt; 0. */
    static void reluBackward(CpuParallel pool, Tensor x, Tensor dOut, Tensor dx) {
        requireSameSize(x, dOut);
        requireSameSize(x, dx);
        MemorySegment xs = f32(x), dos = f32(dOut), dxs = f32(dx);
        pool.over(xs, dos, dxs).forRange(x.size(), CpuParallel.grain(2), (from, to) -> {
            long i = from;
            for (long end = from + bound(to - from, VL); i < end; i += VL) { // [n]
                long at = i * Float.BYTES;
                VectorMask<Float> positive = FloatVector.fromMemorySegment(F, xs, at, LE).compare(VectorOperators.GT, 0f);
                FloatVector d = FloatVector.fromMemorySegment(F, dxs, at, LE);
                d.add(FloatVector.fromMemorySegment(F, dos, at, LE), positive).intoMemorySegment(dxs, at, LE);
            }
            for (; i < to; i++) {
                if (get(xs, i) > 0f) set(dxs, i, get(dxs, i) + get(dos, i));
            }
        });
    }
}
