package org.gptneo.backend.conformance;

import static org.gptneo.backend.conformance.ConformanceCase.kernel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.gptneo.tensor.Tensor;

/** Rotary positions (both directions) and the I32 division that axial positions index with. */
final class PositionCases {
    private PositionCases() {}

    /** {B, H, T, hs}: one element pair, odd token counts, a GPT-Neo head size. */
    private static final int[][] ROTARY_SHAPES = {{1, 1, 1, 2}, {2, 3, 5, 8}, {1, 2, 17, 64}, {3, 1, 4, 6}};

    static List<ConformanceCase> all() {
        List<ConformanceCase> cases = new ArrayList<>();
        for (int[] shape : ROTARY_SHAPES) {
            for (boolean inverse : new boolean[] {false, true}) {
                cases.add(kernel("rotary " + Arrays.toString(shape) + (inverse ? " inverse" : ""), h -> rotary(h, shape, inverse)));
            }
        }
        for (int divisor : new int[] {1, 3, 64}) {
            cases.add(kernel("divMod by " + divisor, h -> divMod(h, divisor)));
        }
        return cases;
    }

    /** Positions up to 4096, so that the angles wrap many times. */
    private static void rotary(Harness h, int[] shape, boolean inverse) {
        int n = shape[0] * shape[2];
        Tensor positions = h.ids(n, 4096);
        Tensor x = h.random(shape);
        h.check("rotary", h.random(shape), (s, out) -> s.backend().rotary(s.on(x), s.on(positions), 10000f, inverse, out));
    }

    private static void divMod(Harness h, int divisor) {
        int n = 1000;
        Tensor x = h.ids(n, 1 << 20);
        h.checkIdentical("divMod quotient", h.ints(new int[n], n),
                (s, quotient) -> s.backend().divMod(s.on(x), divisor, quotient, s.on(h.ints(new int[n], n))));
        h.checkIdentical("divMod remainder", h.ints(new int[n], n),
                (s, remainder) -> s.backend().divMod(s.on(x), divisor, s.on(h.ints(new int[n], n)), remainder));
    }
}
