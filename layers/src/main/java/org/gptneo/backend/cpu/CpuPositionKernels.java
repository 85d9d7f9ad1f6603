package org.gptneo.backend.cpu;

import static org.gptneo.backend.cpu.CpuVectors.f32;
import static org.gptneo.backend.cpu.CpuVectors.get;
import static org.gptneo.backend.cpu.CpuVectors.set;

import java.lang.foreign.MemorySegment;
import org.gptneo.tensor.Tensor;

/** Rotary positions ("rotate half"), one (batch, token) at a time so its angles serve every head. */
final class CpuPositionKernels {
    private CpuPositionKernels() {}

    static void rotary(CpuParallel pool, Tensor x, Tensor positions, float base, boolean inverse, Tensor out) {
        int batch = x.dim(0), heads = x.dim(1), time = x.dim(2), hs = x.dim(3), half = hs / 2;
        MemorySegment xs = f32(x), os = f32(out);
        double[] inverseFrequencies = new double[half];
        for (int k = 0; k < half; k++) inverseFrequencies[k] = Math.pow(base, -2.0 * k / hs);
        pool.over(xs, os).forRange((long) batch * time, CpuParallel.grain(8L * heads * hs), (from, to) -> {
            float[] cos = new float[half], sin = new float[half];
            for (long bt = from; bt < to; bt++) {      // token (b, t) of [B, T]
                int b = (int) (bt / time), t = (int) (bt % time);
                int position = positions.getInt(bt);
                for (int k = 0; k < half; k++) {
                    double angle = position * inverseFrequencies[k];
                    cos[k] = (float) Math.cos(angle);
                    sin[k] = (float) (inverse ? -Math.sin(angle) : Math.sin(angle));
                }
                for (int h = 0; h < heads; h++) {
                    long row = (((long) b * heads + h) * time + t) * hs;   // x [B, H, T, hs]
                    for (int k = 0; k < half; k++) {
                        float first = get(xs, row + k), second = get(xs, row + half + k);
                        set(os, row + k, first * cos[k] - second * sin[k]);
                        set(os, row + half + k, second * cos[k] + first * sin[k]);
                    }
                }
            }
        });
    }
}
