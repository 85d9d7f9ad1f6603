package org.gptneo.backend.conformance;

import java.util.Arrays;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * The kit's assertions on host tensors and numbers. They throw plain {@link AssertionError}s, so a
 * backend that runs the kit needs JUnit's API at most, no assertion library.
 */
final class Expect {
    private Expect() {}

    /** max |actual − expected| ≤ tolerance · max |expected|, NaN only where the reference has NaN. */
    static void close(Tensor actual, Tensor expected, double tolerance, String what) {
        float[] x = actual.toFloatArray(), y = expected.toFloatArray();
        sameCount(x.length, y.length, what);
        double maxError = 0, maxValue = 0;
        for (int i = 0; i < x.length; i++) {
            if (Float.isNaN(y[i])) {
                that(Float.isNaN(x[i]), what + ": element " + i + " is " + x[i] + ", expected NaN");
                continue;
            }
            maxError = Math.max(maxError, x[i] == y[i] ? 0 : Math.abs((double) x[i] - y[i]));
            maxValue = Math.max(maxValue, Math.abs(y[i]));
        }
        double bound = tolerance * Math.max(maxValue, Float.MIN_NORMAL);
        that(maxError <= bound, "%s: max error %s against max value %s exceeds %s".formatted(what, maxError, maxValue, bound));
    }

    /** The same bits in every element (F32, F16 and BF16 compared as widened floats, I32 as ints). */
    static void identical(Tensor actual, Tensor expected, String what) {
        that(actual.dtype() == expected.dtype(), what + ": dtype " + actual.dtype() + ", expected " + expected.dtype());
        int[] x = bits(actual), y = bits(expected);
        sameCount(x.length, y.length, what);
        int first = Arrays.mismatch(x, y);
        if (first >= 0) {
            throw new AssertionError("%s: first differing element %d, %s instead of %s"
                    .formatted(what, first, value(actual, x[first]), value(expected, y[first])));
        }
    }

    /** |actual − expected| ≤ within. */
    static void closeTo(double actual, double expected, double within, String what) {
        that(Math.abs(actual - expected) <= within,
                "%s: %s, expected %s within %s".formatted(what, actual, expected, within));
    }

    static void equal(long actual, long expected, String what) {
        that(actual == expected, what + ": " + actual + ", expected " + expected);
    }

    /** Runs {@code call}, which must throw a {@code type}; returns what it threw. */
    static <T extends Throwable> T thrown(Class<T> type, Runnable call, String what) {
        try {
            call.run();
        } catch (Throwable t) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
            AssertionError error = new AssertionError(what + ": threw " + t + ", expected a " + type.getSimpleName());
            error.initCause(t);
            throw error;
        }
        throw new AssertionError(what + ": nothing thrown, expected a " + type.getSimpleName());
    }

    /** Like {@link #thrown}, and the message must equal {@code message}. */
    static void thrownWithMessage(Class<? extends Throwable> type, String message, Runnable call, String what) {
        String actual = thrown(type, call, what).getMessage();
        that(message.equals(actual), what + ": message \"" + actual + "\", expected \"" + message + "\"");
    }

    static void that(boolean condition, String failure) {
        if (!condition) {
            throw new AssertionError(failure);
        }
    }

    private static void sameCount(int actual, int expected, String what) {
        that(actual == expected, what + ": " + actual + " elements, expected " + expected);
    }

    private static int[] bits(Tensor t) {
        if (t.dtype() == DType.I32) {
            return t.toIntArray();
        }
        float[] values = t.toFloatArray();
        int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++) bits[i] = Float.floatToRawIntBits(values[i]);
        return bits;
    }

    private static String value(Tensor t, int bits) {
        return t.dtype() == DType.I32 ? Integer.toString(bits) : Float.toString(Float.intBitsToFloat(bits));
    }
}
