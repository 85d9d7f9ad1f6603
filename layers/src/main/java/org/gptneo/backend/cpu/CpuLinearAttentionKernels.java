package org.gptneo.backend.cpu;

import static org.gptneo.backend.cpu.CpuVectors.F;
import static org.gptneo.backend.cpu.CpuVectors.FLOAT;
import static org.gptneo.backend.cpu.CpuVectors.VL;
import static org.gptneo.backend.cpu.CpuVectors.bound;
import static org.gptneo.backend.cpu.CpuVectors.f32;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import org.gptneo.tensor.Tensor;

/**
 * Causal linear attention, one (batch, head) per task, its tokens in order: the prefix sums
 * S = Σ k[m]ᵀ·v[m] [d, e] and z = Σ k[m] [d] run in a per-task buffer, so memory beyond the inputs is
 * O(d·e) per task whatever T is. Rows are copied into float arrays and the loops over e are vectors.
 *
 * <p>Backward, with D[n] = q[n]·(z[n] + eps), out[n] = q[n]·S[n] / D[n] and g = dOut:
 * dq[n] = S[n]·(g[n]/D[n]) + dD[n]·(z[n] + eps) with dD[n] = −(g[n]·out[n]) / D[n];
 * since S[n] and z[n] sum over m ≤ n, k[m] and v[m] collect from every n ≥ m through the suffix sums
 * R[m] = Σ_{n≥m} q[n]ᵀ·(g[n]/D[n]) [d, e] and r[m] = Σ_{n≥m} dD[n]·q[n] [d]:
 * dk[m] = R[m]·v[m] + r[m] and dv[m] = k[m]·R[m]. A forward pass over the tokens recomputes S, z
 * (and keeps D, dD: O(T) per task), a reverse pass accumulates R and r.
 */
final class CpuLinearAttentionKernels {
    private CpuLinearAttentionKernels() {}

    /** The shapes every call checks: pairs = B·H, t tokens, d query/key features, e value features. */
    private record Shape(long pairs, int t, int d, int e) {
        static Shape of(Tensor q, Tensor k, Tensor v, Tensor out) {
            if (q.rank() != 4 || !q.sameShape(k) || v.rank() != 4 || !v.sameShape(out)
                    || v.dim(0) != q.dim(0) || v.dim(1) != q.dim(1) || v.dim(2) != q.dim(2)) {
                throw new IllegalArgumentException("linear attention needs q, k [B, H, T, d] and v, out [B, H, T, e], got "
                        + q + ", " + k + ", " + v + ", " + out);
            }
            return new Shape((long) q.dim(0) * q.dim(1), q.dim(2), q.dim(3), v.dim(3));
        }

        /** Rough element operations per (batch, head). */
        long work() {
            return 6L * t * d * Math.max(1, e);
        }
    }

    static void causal(CpuParallel pool, Tensor q, Tensor k, Tensor v, float eps, Tensor state, Tensor normaliser, Tensor out) {
        Shape sh = Shape.of(q, k, v, out);
        int t = sh.t(), d = sh.d(), e = sh.e();
        if ((state == null) != (normaliser == null)) {
            throw new IllegalArgumentException("linear attention takes both state and normaliser, or neither");
        }
        if (state != null && (state.size() != sh.pairs() * d * e || normaliser.size() != sh.pairs() * d)) {
            throw new IllegalArgumentException("linear attention state " + state + " and normaliser " + normaliser
                    + " do not fit q " + q + " and v " + v);
        }
        MemorySegment qs = f32(q), ks = f32(k), vs = f32(v), os = f32(out);
        MemorySegment ss = state == null ? null : f32(state), zs = state == null ? null : f32(normaliser);
        pool.over(segments(qs, ks, vs, os, ss, zs)).forRange(sh.pairs(), CpuParallel.grain(sh.work()), (from, to) -> {
            float[] s = new float[d * e], z = new float[d];
            float[] qRow = new float[d], kRow = new float[d], vRow = new float[e], acc = new float[e];
            for (long p = from; p < to; p++) {                 // (batch, head) p of [B·H]
                if (ss == null) {
                    Arrays.fill(s, 0f);
                    Arrays.fill(z, 0f);
                } else {
                    read(ss, p * d * e, s, d * e);
                    read(zs, p * d, z, d);
                }
                for (int n = 0; n < t; n++) {
                    long qk = (p * t + n) * d, vo = (p * t + n) * e;
                    read(qs, qk, qRow, d);
                    read(ks, qk, kRow, d);
                    read(vs, vo, vRow, e);
                    float den = 0f;
                    for (int i = 0; i < d; i++) {
                        z[i] += kRow[i];
                        den += qRow[i] * (z[i] + eps);
                    }
                    accumulateAndRead(s, kRow, vRow, qRow, acc, d, e);   // S += k[n]ᵀ·v[n], acc = q[n]·S
                    for (int j = 0; j < e; j++) acc[j] /= den;
                    write(acc, os, vo, e);
                }
                if (ss != null) {
                    write(s, ss, p * d * e, d * e);
                    write(z, zs, p * d, d);
                }
            }
        });
    }

    static void causalBackward(CpuParallel pool, Tensor q, Tensor k, Tensor v, float eps, Tensor out, Tensor dOut,
                               Tensor dq, Tensor dk, Tensor dv) {
        Shape sh = Shape.of(q, k, v, out);
        int t = sh.t(), d = sh.d(), e = sh.e();
        if (!dOut.sameShape(out) || !dq.sameShape(q) || !dk.sameShape(k) || !dv.sameShape(v)) {
            throw new IllegalArgumentException("linear attention gradients " + dq + ", " + dk + ", " + dv + ", " + dOut
                    + " do not match their values");
        }
        MemorySegment qs = f32(q), ks = f32(k), vs = f32(v), os = f32(out), gs = f32(dOut);
        MemorySegment dqs = f32(dq), dks = f32(dk), dvs = f32(dv);
        pool.over(qs, ks, vs, os, gs, dqs, dks, dvs).forRange(sh.pairs(), CpuParallel.grain(2 * sh.work()), (from, to) -> {
            float[] s = new float[d * e], z = new float[d];
            float[] den = new float[t], dDen = new float[t];
            float[] qRow = new float[d], kRow = new float[d], vRow = new float[e], oRow = new float[e], g = new float[e];
            float[] grad = new float[d], dvRow = new float[e];
            for (long p = from; p < to; p++) {
                // forward pass: S[n], z[n] again, D[n], dD[n] and dq[n]
                Arrays.fill(s, 0f);
                Arrays.fill(z, 0f);
                for (int n = 0; n < t; n++) {
                    long qk = (p * t + n) * d, vo = (p * t + n) * e;
                    read(qs, qk, qRow, d);
                    read(ks, qk, kRow, d);
                    read(vs, vo, vRow, e);
                    read(os, vo, oRow, e);
                    read(gs, vo, g, e);
                    float dn = 0f;
                    for (int i = 0; i < d; i++) {
                        z[i] += kRow[i];
                        dn += qRow[i] * (z[i] + eps);
                    }
                    den[n] = dn;
                    dDen[n] = -dot(g, oRow, e) / dn;
                    for (int j = 0; j < e; j++) g[j] /= dn;                          // g[n]/D[n]
                    read(dqs, qk, grad, d);
                    for (int i = 0; i < d; i++) {                                    // S += k[n]ᵀ·v[n], then S[i]·g
                        grad[i] += addRowThenDot(kRow[i], vRow, s, i * e, g, e) + dDen[n] * (z[i] + eps);
                    }
                    write(grad, dqs, qk, d);
                }
                // reverse pass: suffix sums R (reusing s) and r (reusing z), then dk[m] and dv[m]
                Arrays.fill(s, 0f);
                Arrays.fill(z, 0f);
                for (int m = t - 1; m >= 0; m--) {
                    long qk = (p * t + m) * d, vo = (p * t + m) * e;
                    read(qs, qk, qRow, d);
                    read(ks, qk, kRow, d);
                    read(vs, vo, vRow, e);
                    read(gs, vo, g, e);
                    for (int j = 0; j < e; j++) g[j] /= den[m];
                    read(dks, qk, grad, d);
                    read(dvs, vo, dvRow, e);
                    for (int i = 0; i < d; i++) {
                        z[i] += dDen[m] * qRow[i];                                     // r += dD[m]·q[m]
                        // R[i] += q[m, i]·g[m]/D[m]; dk[m, i] += R[i]·v[m] + r[i]; dv[m] += k[m, i]·R[i]
                        grad[i] += addRowThenDot(qRow[i], g, s, i * e, vRow, e, kRow[i], dvRow) + z[i];
                    }
                    write(grad, dks, qk, d);
                    write(dvRow, dvs, vo, e);
                }
            }
        });
    }

    /** s[off + j] += a·x[j] for j &lt; n, then Σ_j s[off + j]·y[j] of the updated row (lanes summed in order). */
    private static float addRowThenDot(float a, float[] x, float[] s, int off, float[] y, int n) {
        FloatVector va = FloatVector.broadcast(F, a), sum = FloatVector.zero(F);
        int j = 0;
        for (int end = bound(n, VL); j < end; j += VL) {
            FloatVector row = FloatVector.fromArray(F, x, j).fma(va, FloatVector.fromArray(F, s, off + j));
            row.intoArray(s, off + j);
            sum = row.fma(FloatVector.fromArray(F, y, j), sum);
        }
        float total = Lanes.sum(sum);
        for (; j < n; j++) {
            s[off + j] = Math.fma(x[j], a, s[off + j]);
            total += s[off + j] * y[j];
        }
        return total;
    }

    /** {@link #addRowThenDot(float, float[], float[], int, float[], int)}, and acc[j] += b·s[off + j] of the updated row. */
    private static float addRowThenDot(float a, float[] x, float[] s, int off, float[] y, int n, float b, float[] acc) {
        FloatVector va = FloatVector.broadcast(F, a), vb = FloatVector.broadcast(F, b), sum = FloatVector.zero(F);
        int j = 0;
        for (int end = bound(n, VL); j < end; j += VL) {
            FloatVector row = FloatVector.fromArray(F, x, j).fma(va, FloatVector.fromArray(F, s, off + j));
            row.intoArray(s, off + j);
            sum = row.fma(FloatVector.fromArray(F, y, j), sum);
            row.fma(vb, FloatVector.fromArray(F, acc, j)).intoArray(acc, j);
        }
        float total = Lanes.sum(sum);
        for (; j < n; j++) {
            s[off + j] = Math.fma(x[j], a, s[off + j]);
            total += s[off + j] * y[j];
            acc[j] = Math.fma(s[off + j], b, acc[j]);
        }
        return total;
    }

    /** Σ_j x[j]·y[j] for j &lt; n, lanes summed in order. */
    private static float dot(float[] x, float[] y, int n) {
        FloatVector acc = FloatVector.zero(F);
        int j = 0;
        for (int end = bound(n, VL); j < end; j += VL) acc = FloatVector.fromArray(F, x, j).fma(FloatVector.fromArray(F, y, j), acc);
        float total = Lanes.sum(acc);
        for (; j < n; j++) total += x[j] * y[j];
        return total;
    }

    /**
     * S [d, e] += kᵀ·v, and acc [e] = q·S of the updated S, in one sweep over S: a vector of columns
     * of v and of acc stays in registers while the rows of S stream past.
     */
    private static void accumulateAndRead(float[] s, float[] k, float[] v, float[] q, float[] acc, int d, int e) {
        int j = 0;
        for (int end = bound(e, VL); j < end; j += VL) {
            FloatVector vj = FloatVector.fromArray(F, v, j), sum = FloatVector.zero(F);
            for (int i = 0; i < d; i++) {
                FloatVector row = vj.fma(FloatVector.broadcast(F, k[i]), FloatVector.fromArray(F, s, i * e + j));
                row.intoArray(s, i * e + j);
                sum = row.fma(FloatVector.broadcast(F, q[i]), sum);
            }
            sum.intoArray(acc, j);
        }
        for (; j < e; j++) {
            float sum = 0f;
            for (int i = 0; i < d; i++) {
                s[i * e + j] = Math.fma(v[j], k[i], s[i * e + j]);
                sum = Math.fma(s[i * e + j], q[i], sum);
            }
            acc[j] = sum;
        }
    }

    private static void read(MemorySegment src, long index, float[] dst, int n) {
        MemorySegment.copy(src, FLOAT, index * Float.BYTES, dst, 0, n);
    }

    private static void write(float[] src, MemorySegment dst, long index, int n) {
        MemorySegment.copy(src, 0, dst, FLOAT, index * Float.BYTES, n);
    }

    private static MemorySegment[] segments(MemorySegment... maybeNull) {
        List<MemorySegment> present = new ArrayList<>();
        for (MemorySegment s : maybeNull) {
            if (s != null) present.add(s);
        }
        return present.toArray(MemorySegment[]::new);
    }
}
