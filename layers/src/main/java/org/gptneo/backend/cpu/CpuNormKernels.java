package org.gptneo.backend.cpu;

import static org.gptneo.backend.cpu.CpuVectors.F;
import static org.gptneo.backend.cpu.CpuVectors.FLOAT;
import static org.gptneo.backend.cpu.CpuVectors.LE;
import static org.gptneo.backend.cpu.CpuVectors.VL;
import static org.gptneo.backend.cpu.CpuVectors.bound;
import static org.gptneo.backend.cpu.CpuVectors.f32;
import static org.gptneo.backend.cpu.CpuVectors.get;
import static org.gptneo.backend.cpu.CpuVectors.set;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import org.gptneo.tensor.Tensor;

/** LayerNorm forward and backward over the last dimension, one row per step. */
final class CpuNormKernels {
    private CpuNormKernels() {}

    static void layerNorm(CpuParallel pool, Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out, Tensor mean, Tensor rstd) {
        int c = x.dim(-1);
        MemorySegment xs = f32(x), gs = f32(gamma), bs = f32(beta), os = f32(out), ms = f32(mean), rs = f32(rstd);
        pool.over(xs, gs, bs, os, ms, rs).forRange(x.size() / c, CpuParallel.grain(4L * c), (from, to) -> {
            for (long r = from; r < to; r++) { // [N, C]
                long row = r * c;
                FloatVector acc = FloatVector.zero(F);
                int j = 0;
                for (int end = bound(c, VL); j < end; j += VL) {
                    acc = acc.add(FloatVector.fromMemorySegment(F, xs, (row + j) * Float.BYTES, LE));
                }
                float total = Lanes.sum(acc);
                for (; j < c; j++) total += get(xs, row + j);
                float mu = total / c;

                acc = FloatVector.zero(F);
                j = 0;
                for (int end = bound(c, VL); j < end; j += VL) {
                    FloatVector dev = FloatVector.fromMemorySegment(F, xs, (row + j) * Float.BYTES, LE).sub(mu);
                    acc = dev.fma(dev, acc);
                }
                float var = Lanes.sum(acc);
                for (; j < c; j++) {
                    float dev = get(xs, row + j) - mu;
                    var += dev * dev;
                }
                var /= c;
                float rsd = (float) (1.0 / Math.sqrt(var + eps));

                j = 0;
                for (int end = bound(c, VL); j < end; j += VL) {
                    long at = (row + j) * Float.BYTES;
                    FloatVector g = FloatVector.fromMemorySegment(F, gs, j * (long) Float.BYTES, LE);
                    FloatVector b = FloatVector.fromMemorySegment(F, bs, j * (long) Float.BYTES, LE);
                    FloatVector.fromMemorySegment(F, xs, at, LE).sub(mu).mul(rsd).mul(g).add(b).intoMemorySegment(os, at, LE);
                }
                for (; j < c; j++) set(os, row + j, (get(xs, row + j) - mu) * rsd * get(gs, j) + get(bs, j));
                set(ms, r, mu);
                set(rs, r, rsd);
            }
        });
    }

    /**
     * dx is computed row by row; dGamma and dBeta are sums over rows, so they are split by columns
     * instead, each column summed over the rows in order (no partial sums, no dependence on threads).
     */
    static void layerNormBackward(CpuParallel pool, Tensor dOut, Tensor x, Tensor gamma, Tensor mean, Tensor rstd,
                                  Tensor dx, Tensor dGamma, Tensor dBeta) {
        int c = x.dim(-1);
        long rows = x.size() / c;
        MemorySegment dys = f32(dOut), xs = f32(x), gs = f32(gamma), ms = f32(mean), rs = f32(rstd);
        MemorySegment dxs = f32(dx), dgs = f32(dGamma), dbs = f32(dBeta);
        // dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dOut·gamma
        pool.over(dys, xs, gs, ms, rs, dxs).forRange(rows, CpuParallel.grain(6L * c), (from, to) -> {
            for (long r = from; r < to; r++) { // [N, C]
                long row = r * c;
                float mu = get(ms, r), rsd = get(rs, r);
                FloatVector sumG = FloatVector.zero(F), sumGx = sumG;
                int j = 0;
                for (int end = bound(c, VL); j < end; j += VL) {
                    long at = (row + j) * Float.BYTES;
                    FloatVector xhat = FloatVector.fromMemorySegment(F, xs, at, LE).sub(mu).mul(rsd);
                    FloatVector gammas = FloatVector.fromMemorySegment(F, gs, j * (long) Float.BYTES, LE);
                    FloatVector g = FloatVector.fromMemorySegment(F, dys, at, LE).mul(gammas);
                    sumG = sumG.add(g);
                    sumGx = g.fma(xhat, sumGx);
                }
                float meanG = Lanes.sum(sumG), meanGx = Lanes.sum(sumGx);
                for (; j < c; j++) {
                    float xhat = (get(xs, row + j) - mu) * rsd;
                    float g = get(dys, row + j) * get(gs, j);
                    meanG += g;
                    meanGx += g * xhat;
                }
                meanG /= c;
                meanGx /= c;
                j = 0;
                for (int end = bound(c, VL); j < end; j += VL) {
                    long at = (row + j) * Float.BYTES;
                    FloatVector xhat = FloatVector.fromMemorySegment(F, xs, at, LE).sub(mu).mul(rsd);
                    FloatVector gammas = FloatVector.fromMemorySegment(F, gs, j * (long) Float.BYTES, LE);
                    FloatVector g = FloatVector.fromMemorySegment(F, dys, at, LE).mul(gammas);
                    FloatVector before = FloatVector.fromMemorySegment(F, dxs, at, LE);
                    before.add(g.sub(meanG).sub(xhat.mul(meanGx)).mul(rsd)).intoMemorySegment(dxs, at, LE);
                }
                for (; j < c; j++) {
                    float xhat = (get(xs, row + j) - mu) * rsd;
                    float g = get(dys, row + j) * get(gs, j);
                    set(dxs, row + j, get(dxs, row + j) + rsd * (g - meanG - xhat * meanGx));
                }
            }
        });
        // dGamma [C] += Σ_rows dOut·x̂, dBeta [C] += Σ_rows dOut
        long columnsPerPiece = CpuVectors.wholeVectors(CpuParallel.grain(3 * rows));
        pool.over(dys, xs, ms, rs, dgs, dbs).forRange(c, columnsPerPiece, (from, to) -> {
            int c0 = (int) from, width = (int) (to - from);
            float[] dGammaAcc = new float[width], dBetaAcc = new float[width];
            MemorySegment.copy(dgs, FLOAT, c0 * (long) Float.BYTES, dGammaAcc, 0, width);
            MemorySegment.copy(dbs, FLOAT, c0 * (long) Float.BYTES, dBetaAcc, 0, width);
            for (long r = 0; r < rows; r++) { // [N, c0 .. c0+width)
                long row = r * c + c0;
                float mu = get(ms, r), rsd = get(rs, r);
                int j = 0;
                for (int end = bound(width, VL); j < end; j += VL) {
                    long at = (row + j) * Float.BYTES;
                    FloatVector dy = FloatVector.fromMemorySegment(F, dys, at, LE);
                    FloatVector xhat = FloatVector.fromMemorySegment(F, xs, at, LE).sub(mu).mul(rsd);
                    dy.fma(xhat, FloatVector.fromArray(F, dGammaAcc, j)).intoArray(dGammaAcc, j);
                    dy.add(FloatVector.fromArray(F, dBetaAcc, j)).intoArray(dBetaAcc, j);
                }
                for (; j < width; j++) {
                    float dy = get(dys, row + j);
                    dGammaAcc[j] += dy * ((get(xs, row + j) - mu) * rsd);
                    dBetaAcc[j] += dy;
                }
            }
            MemorySegment.copy(dGammaAcc, 0, dgs, FLOAT, c0 * (long) Float.BYTES, width);
            MemorySegment.copy(dBetaAcc, 0, dbs, FLOAT, c0 * (long) Float.BYTES, width);
        });
    }
}
