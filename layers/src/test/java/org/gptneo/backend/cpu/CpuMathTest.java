package org.gptneo.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** CpuMath's exp and tanh: close to java.lang.Math, and the vector forms give the scalar forms' bits. */
class CpuMathTest {
    private static final int N = 200_000;

    private static float[] floats(double lo, double hi) {
        SplittableRandom random = new SplittableRandom(7);
        float[] x = new float[N];
        for (int i = 0; i < N; i++) x[i] = (float) random.nextDouble(lo, hi);
        return x;
    }

    @Test
    void floatExpIsWithinTwoUlpAndTheVectorFormGivesTheSameBits() {
        float[] x = floats(-90, 88.72);
        float[] lanes = new float[CpuVectors.VL];
        for (int i = 0; i + CpuVectors.VL <= N; i += CpuVectors.VL) {
            CpuMath.exp(FloatVector.fromArray(CpuVectors.F, x, i)).intoArray(lanes, 0);
            for (int l = 0; l < lanes.length; l++) {
                float v = x[i + l], scalar = CpuMath.exp(v);
                assertThat(Float.floatToRawIntBits(lanes[l])).as("exp(%s)", v).isEqualTo(Float.floatToRawIntBits(scalar));
                double exact = Math.exp(v);
                if (exact >= Float.MIN_NORMAL) {
                    assertThat(Math.abs(scalar - exact)).as("exp(%s)", v).isLessThanOrEqualTo(2 * Math.ulp((float) exact));
                } else {
                    assertThat(scalar).isZero();                    // subnormal results flush to zero
                }
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
    void tanhIsWithinTwoTenMillionthsAbsoluteAndOdd() {
        float[] x = floats(-12, 12);
        float[] lanes = new float[CpuVectors.VL];
        for (int i = 0; i + CpuVectors.VL <= N; i += CpuVectors.VL) {
            CpuMath.tanh(FloatVector.fromArray(CpuVectors.F, x, i)).intoArray(lanes, 0);
            for (int l = 0; l < lanes.length; l++) {
                float v = x[i + l], scalar = CpuMath.tanh(v);
                assertThat(Float.floatToRawIntBits(lanes[l])).as("tanh(%s)", v).isEqualTo(Float.floatToRawIntBits(scalar));
                assertThat(Math.abs(scalar - Math.tanh(v))).as("tanh(%s)", v).isLessThanOrEqualTo(2e-7);
                assertThat(CpuMath.tanh(-v)).isEqualTo(-scalar);
            }
        }
    }

    @Test
    void doubleExpIsWithinAFewUlpAndTheVectorFormGivesTheSameBits() {
        SplittableRandom random = new SplittableRandom(11);
        int dl = CpuVectors.D.length();
        double[] x = new double[N], lanes = new double[dl];
        for (int i = 0; i < N; i++) x[i] = random.nextDouble(-708, 709.78);
        for (int i = 0; i + dl <= N; i += dl) {
            CpuMath.exp(DoubleVector.fromArray(CpuVectors.D, x, i)).intoArray(lanes, 0);
            for (int l = 0; l < dl; l++) {
                double v = x[i + l], scalar = CpuMath.exp(v), exact = Math.exp(v);
                assertThat(Double.doubleToRawLongBits(lanes[l])).as("exp(%s)", v).isEqualTo(Double.doubleToRawLongBits(scalar));
                assertThat(Math.abs(scalar - exact)).as("exp(%s)", v).isLessThanOrEqualTo(4 * Math.ulp(exact));
            }
        }
        assertThat(CpuMath.exp(-800.0)).isZero();
        assertThat(CpuMath.exp(710.0)).isEqualTo(Double.POSITIVE_INFINITY);
    }
}
