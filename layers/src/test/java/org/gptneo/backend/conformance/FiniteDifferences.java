package org.gptneo.backend.conformance;

import java.util.function.ToDoubleFunction;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.Tensor;

/**
 * Central finite differences of a scalar loss computed by the candidate's forward kernels. The loss
 * is a random projection L = Σ w·out of a forward output (summed in double on the host after a
 * download), so dOut = w, and the analytic gradient must equal ∂L/∂input.
 *
 * <p>Step and tolerance: the forward kernels run in float32, so L carries a rounding error of about
 * 1e-7·|L| (|L| ≲ 10 here) that the difference quotient divides by 2h; with h = 1e-2 that is ≲ 1e-4,
 * and the truncation error of the central difference, O(h²·f‴), is of the same order. A relative
 * tolerance of 1e-2 (max-abs-error / max-abs-gradient) leaves a wide margin for both while any wrong
 * or missing term of a gradient gives an O(1) error.
 *
 * <p>Every gradient starts at {@link #PREFILL}, not zero: backward kernels add into their outputs.
 */
final class FiniteDifferences {
    static final float H = 1e-2f;
    static final double TOLERANCE = 1e-2;
    static final float PREFILL = 0.375f;

    private final Harness h;
    private final Side candidate;

    FiniteDifferences(Harness h) {
        this.h = h;
        this.candidate = h.candidate();
    }

    Backend backend() {
        return candidate.backend();
    }

    /** The candidate's copy of host input {@code t}, uploaded once. */
    Tensor on(Tensor t) {
        return candidate.on(t);
    }

    /** A scratch F32 output on the candidate. */
    Tensor output(int... shape) {
        return candidate.fresh(h.zeros(shape));
    }

    /** A gradient on the candidate, every element {@link #PREFILL}. */
    Tensor prefilled(int... shape) {
        return candidate.fresh(h.constant(PREFILL, shape));
    }

    /**
     * ∂L/∂input[i] by central differences, with the step actually taken in float: host input is
     * perturbed one element at a time and uploaded afresh; {@code loss} gets the upload.
     */
    double[] numericGradient(Tensor input, ToDoubleFunction<Tensor> loss) {
        double[] gradient = new double[Math.toIntExact(input.size())];
        for (int i = 0; i < gradient.length; i++) {
            float original = input.getFloat(i), up = original + H, down = original - H;
            input.setFloat(i, up);
            double lossUp = loss.applyAsDouble(candidate.fresh(input));
            input.setFloat(i, down);
            double lossDown = loss.applyAsDouble(candidate.fresh(input));
            input.setFloat(i, original);
            gradient[i] = (lossUp - lossDown) / ((double) up - down);
        }
        return gradient;
    }

    /** Σ w·out in double, {@code w} a host tensor and {@code out} the candidate's. */
    double dot(Tensor w, Tensor out) {
        float[] x = candidate.host(out).toFloatArray();
        double total = 0;
        for (int i = 0; i < x.length; i++) total += (double) w.getFloat(i) * x[i];
        return total;
    }

    /** All elements of the candidate's {@code t} in host memory. */
    float[] values(Tensor t) {
        return candidate.host(t).toFloatArray();
    }

    /** The candidate's gradient − PREFILL matches the numeric gradient: the kernel added its result. */
    void assertGradient(Tensor gradient, double[] numeric, String what) {
        float[] analytic = values(gradient);
        Expect.that(analytic.length == numeric.length, what + ": " + analytic.length + " elements, expected " + numeric.length);
        double maxError = 0, maxValue = 0;
        for (int i = 0; i < numeric.length; i++) {
            maxError = Math.max(maxError, Math.abs(analytic[i] - PREFILL - numeric[i]));
            maxValue = Math.max(maxValue, Math.abs(numeric[i]));
        }
        Expect.that(maxValue > 0.1, what + ": a gradient that is not all zero, max " + maxValue);
        Expect.that(maxError <= TOLERANCE * maxValue,
                "%s: max error %s against max gradient %s exceeds %s".formatted(what, maxError, maxValue, TOLERANCE * maxValue));
    }

    /** A host input of standard normal values. */
    Tensor random(int... shape) {
        return h.random(shape);
    }

    /** Host input {@code t} multiplied by {@code s} in place. */
    void scale(Tensor t, float s) {
        h.scaled(t, s);
    }

    /** A host input. */
    Tensor floats(float... values) {
        return h.floats(values, values.length);
    }

    /** Host I32 ids. */
    Tensor ints(int... values) {
        return h.ints(values, values.length);
    }
}
