package org.gptneo.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** CpuMath's exp and tanh: close to java.lang.Math, and the vector forms (on arrays) give the scalar forms' bits. */
class CpuMathTest {
    private static final int N = 200_000;

    private static float[] floats(double lo, double hi) {
        SplittableRandom random = new SplittableRandom(7);
        float[] x = new float[N];
        for (int i = 0; i < N; i++) x[i] = (float) random.nextDouble(lo, hi);
        return x;
    }

    @Test
    void floatExpIsWithinTwoUlpAndTheArrayFormGivesTheSameBits() {
        float[] x = floats(-90, 88.72), vectors = x.clone();
        CpuMath.exp(vectors, 3, N - 5);                               // ragged: the tail takes the scalar form
        assertThat(vectors[2]).isEqualTo(x[2]);
        assertThat(vectors[N - 5]).isEqualTo(x[N - 5]);
        for (int i = 3; i < N - 5; i++) {
            float v = x[i], scalar = CpuMath.exp(v);
            assertThat(Float.floatToRawIntBits(vectors[i])).as("exp(%s)", v).isEqualTo(Float.floatToRawIntBits(scalar));
            double exact = Math.exp(v);
            if (exact >= Float.MIN_NORMAL) {
                assertThat(Math.abs(scalar - exact)).as("exp(%s)", v).isLessThanOrEqualTo(2 * Math.ulp((float) exact));
            } else {
                assertThat(scalar).isZero();                    // subnormal results flush to zero
            }
        }
        assertThat(CpuMath.exp(0f)).isEqualTo(1f);
        assertThat(CpuMath.exp(Float.NEGATIVE_INFINITY)).isZero();
        assertThat(CpuMath.exp(Float.NaN)).isNaN();
        assertThat(CpuMath.exp(88.7f)).isFinite().isGreaterThan(3e38f);
        assertThat(CpuMath.exp(89f)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(CpuMath.exp(-87.2f)).isGreaterThan(0f);
    }

    @Test
    void tanhIsWithinTwoTenMillionthsAbsoluteOddAndTheArrayFormGivesTheSameBits() {
        float[] x = floats(-12, 12), vectors = x.clone();
        CpuMath.tanh(vectors, 1, N - 2, new float[N]);
        for (int i = 1; i < N - 2; i++) {
            float v = x[i], scalar = CpuMath.tanh(v);
            assertThat(Float.floatToRawIntBits(vectors[i])).as("tanh(%s)", v).isEqualTo(Float.floatToRawIntBits(scalar));
            assertThat(Math.abs(scalar - Math.tanh(v))).as("tanh(%s)", v).isLessThanOrEqualTo(2e-7);
            assertThat(CpuMath.tanh(-v)).isEqualTo(-scalar);
        }
    }

    @Test
    void doubleExpIsWithinAFewUlpAndTheArrayFormGivesTheSameBits() {
        SplittableRandom random = new SplittableRandom(11);
        float[] x = new float[N];
        double[] out = new double[N];
        for (int i = 0; i < N; i++) x[i] = (float) random.nextDouble(-708, 709.78);
        CpuMath.expWide(x, 3, N - 5, out);                            // ragged: the tail takes the scalar form
        for (int i = 3; i < N - 5; i++) {
            double v = x[i], scalar = CpuMath.exp(v), exact = Math.exp(v);
            assertThat(Double.doubleToRawLongBits(out[i])).as("exp(%s)", v).isEqualTo(Double.doubleToRawLongBits(scalar));
            assertThat(Math.abs(scalar - exact)).as("exp(%s)", v).isLessThanOrEqualTo(4 * Math.ulp(exact));
        }
        assertThat(out[0]).as("before from: untouched").isZero();
        assertThat(out[N - 5]).as("from to on: untouched").isZero();
        assertThat(CpuMath.exp(-800.0)).isZero();
        assertThat(CpuMath.exp(710.0)).isEqualTo(Double.POSITIVE_INFINITY);
    }
}
