package org.gptneo.backend.cpu;

import static org.gptneo.backend.KernelChecks.requireSameSize;
import static org.gptneo.backend.cpu.CpuVectors.VL;
import static org.gptneo.backend.cpu.CpuVectors.bound;
import static org.gptneo.backend.cpu.CpuVectors.f32;
import static org.gptneo.backend.cpu.CpuVectors.get;
import static org.gptneo.backend.cpu.CpuVectors.load;
import static org.gptneo.backend.cpu.CpuVectors.set;
import static org.gptneo.backend.cpu.CpuVectors.store;

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
            for (long end = from + bound(to - from, VL); i < end; i += VL) store(load(xs, i).max(0f), os, i); // [n]
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
                VectorMask<Float> positive = load(xs, i).compare(VectorOperators.GT, 0f);
                FloatVector d = load(dxs, i);
                store(d.add(load(dos, i), positive), dxs, i);
            }
            for (; i < to; i++) {
                if (get(xs, i) > 0f) set(dxs, i, get(dxs, i) + get(dos, i));
            }
        });
    }
}
