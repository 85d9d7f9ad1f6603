package org.gptneo.backend.cpu;

import static org.gptneo.backend.cpu.CpuVectors.D;
import static org.gptneo.backend.cpu.CpuVectors.F;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;

/**
 * exp and tanh from additions, multiplications and fused multiply-adds only, in a vector form (on
 * arrays) and a scalar form that give the same bits. The Vector API's own {@code EXP}/{@code TANH} give different
 * last bits in interpreted and JIT-compiled code, which made one run's gradients depend on when the
 * JIT got to a kernel. Cephes' reductions and polynomials: exp(x) = 2^k·e^r, k = round(x·log2 e),
 * |r| ≤ ln2/2; float results within 2 ulp of the true value, double within a few ulp.
 */
final class CpuMath {
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 12582912f;                 // 1.5·2^23: adding and subtracting rounds to an integer
    private static final float MIN_X = -87.33654f, MAX_X = 88.72283f;   // below: subnormal, flushed to 0; above: +∞
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
            P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;
    private static final float TANH_SATURATES = 9f;               // tanh(9) rounds to 1 in float

    private static final double D_LOG2E = 1.4426950408889634;
    private static final double D_LN2_HI = 6.93145751953125e-1, D_LN2_LO = 1.42860682030941723212e-6;
    private static final double D_ROUND = 6755399441055744.0;    // 1.5·2^52
    private static final double D_MIN_X = -708.39, D_MAX_X = 709.78;
    private static final double DP0 = 1.26177193074810590878e-4, DP1 = 3.02994407707441961300e-2,
            DP2 = 9.99999999999999999910e-1;
    private static final double DQ0 = 3.00198505138664455042e-6, DQ1 = 2.52448340349684104192e-3,
            DQ2 = 2.27265548208155028766e-1, DQ3 = 2.00000000000000000009e0;

    private CpuMath() {}

    // ---- float exp ---------------------------------------------------------------------------

    static float exp(float x) {
        float c = Math.min(Math.max(x, MIN_X), MAX_X);
        float k = (c * LOG2E + ROUND) - ROUND;
        float r = Math.fma(k, -LN2_LO, Math.fma(k, -LN2_HI, c));
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(P0, r, P1), r, P2), r, P3), r, P4), r, P5);
        float y = Math.fma(p, r * r, r) + 1f;
        int half = (int) k >> 1;                                   // 2^k as 2^half · 2^(k − half): both stay normal
        float scaled = y * Float.intBitsToFloat((half + 127) << 23) * Float.intBitsToFloat(((int) k - half + 127) << 23);
        return x < MIN_X ? 0f : x > MAX_X ? Float.POSITIVE_INFINITY : scaled;
    }

    /**
     * values[from .. to) = exp(values), in place: the scalar form's steps on vectors, then the scalar
     * form for the tail (the same bits). Arrays in and out, not a vector: a method that takes or returns
     * a vector is a call C2 may decline to inline (past its node cutoff, or once the callee is compiled
     * large on its own), and then every vector handed to it is allocated on the heap (the Vector API's
     * own methods are always inlined); an array call allocates nothing either way.
     */
    static void exp(float[] values, int from, int to) {
        int i = from;
        for (int end = from + CpuVectors.bound(to - from, F.length()); i < end; i += F.length()) {
            FloatVector x = FloatVector.fromArray(F, values, i);
            FloatVector c = x.max(MIN_X).min(MAX_X);
            FloatVector k = c.mul(LOG2E).add(ROUND).sub(ROUND);
            FloatVector r = k.fma(FloatVector.broadcast(F, -LN2_LO), k.fma(FloatVector.broadcast(F, -LN2_HI), c));
            FloatVector p = FloatVector.broadcast(F, P0).fma(r, FloatVector.broadcast(F, P1)).fma(r, FloatVector.broadcast(F, P2))
                    .fma(r, FloatVector.broadcast(F, P3)).fma(r, FloatVector.broadcast(F, P4)).fma(r, FloatVector.broadcast(F, P5));
            FloatVector y = p.fma(r.mul(r), r).add(1f);
            IntVector ks = (IntVector) k.convertShape(VectorOperators.F2I, CpuVectors.I, 0);
            IntVector half = ks.lanewise(VectorOperators.ASHR, 1);
            FloatVector first = half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector second = ks.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            y.mul(first).mul(second).blend(0f, x.lt(MIN_X)).blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, MAX_X))
                    .intoArray(values, i);
        }
        for (; i < to; i++) values[i] = exp(values[i]);
    }

    // ---- float tanh (for gelu: absolute error ≤ ~1e-7) ------------------------------------------

    /** tanh x = sign(x)·(1 − 2/(e^{2|x|} + 1)); accurate in absolute terms, as 1 + tanh and 1 − tanh² need. */
    static float tanh(float x) {
        float a = Math.min(Math.abs(x), TANH_SATURATES);
        float t = 1f - 2f / (exp(a + a) + 1f);
        return x < 0 ? -t : t;
    }

    /**
     * values[from .. to) = tanh(values), in place, the scalar form's bits: 2·min(|x|, 9) into scratch,
     * {@link #exp(float[], int, int)} there, then the sign (arrays only, as that method says why).
     */
    static void tanh(float[] values, int from, int to, float[] scratch) {
        int vl = F.length(), end = from + CpuVectors.bound(to - from, vl), i = from;
        for (; i < end; i += vl) {
            FloatVector a = FloatVector.fromArray(F, values, i).abs().min(TANH_SATURATES);
            a.add(a).intoArray(scratch, i);
        }
        for (; i < to; i++) {
            float a = Math.min(Math.abs(values[i]), TANH_SATURATES);
            scratch[i] = a + a;
        }
        exp(scratch, from, to);
        for (i = from; i < end; i += vl) {
            FloatVector x = FloatVector.fromArray(F, values, i);
            FloatVector t = FloatVector.broadcast(F, 1f).sub(FloatVector.broadcast(F, 2f).div(FloatVector.fromArray(F, scratch, i).add(1f)));
            t.blend(t.neg(), x.lt(0f)).intoArray(values, i);
        }
        for (; i < to; i++) {
            float t = 1f - 2f / (scratch[i] + 1f);
            values[i] = values[i] < 0 ? -t : t;
        }
    }

    // ---- double exp --------------------------------------------------------------------------

    static double exp(double x) {
        double c = Math.min(Math.max(x, D_MIN_X), D_MAX_X);
        double k = (c * D_LOG2E + D_ROUND) - D_ROUND;
        double r = Math.fma(k, -D_LN2_LO, Math.fma(k, -D_LN2_HI, c));
        double rr = r * r;
        double px = r * Math.fma(Math.fma(DP0, rr, DP1), rr, DP2);
        double q = Math.fma(Math.fma(Math.fma(DQ0, rr, DQ1), rr, DQ2), rr, DQ3);
        double y = Math.fma(2, px / (q - px), 1);
        long half = (long) k >> 1;
        double scaled = y * Double.longBitsToDouble((half + 1023) << 52) * Double.longBitsToDouble(((long) k - half + 1023) << 52);
        return x < D_MIN_X ? 0 : x > D_MAX_X ? Double.POSITIVE_INFINITY : scaled;
    }

    /**
     * out[i] = exp((double) x[i]) for from ≤ i &lt; to: the scalar form's steps on double vectors (floats
     * widened as they are loaded), then the scalar form for the tail (the same bits). Arrays in and out,
     * as {@link #exp(float[], int, int)}: a vector handed to or returned from a call C2 does not inline is
     * allocated on the heap (cross-entropy allocated 15-36 MB a token in training when it did).
     */
    static void expWide(float[] x, int from, int to, double[] out) {
        int dl = D.length(), i = from;
        for (int end = from + CpuVectors.bound(to - from, dl); i < end; i += dl) {
            DoubleVector v = (DoubleVector) FloatVector.fromArray(CpuVectors.F_HALF, x, i).convertShape(VectorOperators.F2D, D, 0);
            DoubleVector c = v.max(D_MIN_X).min(D_MAX_X);
            DoubleVector k = c.mul(D_LOG2E).add(D_ROUND).sub(D_ROUND);
            DoubleVector r = k.fma(DoubleVector.broadcast(D, -D_LN2_LO), k.fma(DoubleVector.broadcast(D, -D_LN2_HI), c));
            DoubleVector rr = r.mul(r);
            DoubleVector px = r.mul(DoubleVector.broadcast(D, DP0).fma(rr, DoubleVector.broadcast(D, DP1))
                    .fma(rr, DoubleVector.broadcast(D, DP2)));
            DoubleVector q = DoubleVector.broadcast(D, DQ0).fma(rr, DoubleVector.broadcast(D, DQ1))
                    .fma(rr, DoubleVector.broadcast(D, DQ2)).fma(rr, DoubleVector.broadcast(D, DQ3));
            DoubleVector y = px.div(q.sub(px)).fma(DoubleVector.broadcast(D, 2), DoubleVector.broadcast(D, 1));
            LongVector ks = (LongVector) k.convertShape(VectorOperators.D2L, CpuVectors.L, 0);
            LongVector half = ks.lanewise(VectorOperators.ASHR, 1);
            DoubleVector first = half.add(1023).lanewise(VectorOperators.LSHL, 52).reinterpretAsDoubles();
            DoubleVector second = ks.sub(half).add(1023).lanewise(VectorOperators.LSHL, 52).reinterpretAsDoubles();
            y.mul(first).mul(second).blend(0, v.lt(D_MIN_X)).blend(Double.POSITIVE_INFINITY, v.compare(VectorOperators.GT, D_MAX_X))
                    .intoArray(out, i);
        }
        for (; i < to; i++) out[i] = exp((double) x[i]);
    }
}
