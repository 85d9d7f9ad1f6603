package org.gptneo.backend.conformance;

import static org.gptneo.backend.conformance.ConformanceCase.kernel;

import java.util.ArrayList;
import java.util.List;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * Elementwise kernels, bias and dropout against the reference. They do the reference's float
 * operations in the reference's order, so they must match bit for bit.
 */
final class ElementwiseCases {
    private ElementwiseCases() {}

    /** Odd lengths (not multiples of any vector width), plus ones big enough to be split over threads. */
    static final int[] LENGTHS = {0, 1, 3, 7, 17, 33, 65, 130, 100_003, (1 << 18) + 5};

    static List<ConformanceCase> all() {
        List<ConformanceCase> cases = new ArrayList<>();
        for (int n : LENGTHS) cases.add(kernel("elementwise n=" + n, h -> elementwise(h, n)));
        cases.add(kernel("elementwise kernels reject mismatched sizes", ElementwiseCases::mismatchedSizes));
        cases.add(kernel("copy converts F32 to BF16", h -> {
            Tensor src = h.random(33);
            h.checkIdentical("copy to BF16", h.allocate(DType.BF16, 33), (side, t) -> side.backend().copy(side.on(src), t));
        }));
        cases.add(kernel("compute kernels name the dtype they need", h -> {
            Tensor half = h.allocate(DType.F16, 4);
            String message = Expect.thrown(IllegalArgumentException.class,
                    () -> h.candidate().backend().scale(h.candidate().fresh(half), 2f), "scale of F16").getMessage();
            Expect.that(message != null && message.contains("F32"), "scale of F16: message \"" + message + "\" names no F32");
        }));
        for (int c : new int[] {1, 3, 17, 33, 130}) cases.add(kernel("bias C=" + c, h -> bias(h, c)));
        for (int n : LENGTHS) cases.add(kernel("dropoutMask n=" + n, h -> dropout(h, n)));
        return cases;
    }

    private static void elementwise(Harness h, int n) {
        Tensor x = h.random(n), y = h.random(n); // [n]
        h.checkIdentical("fill", h.random(n), (s, t) -> s.backend().fill(t, 0.75f));
        h.checkIdentical("copy", h.random(n), (s, t) -> s.backend().copy(s.on(x), t));
        h.checkIdentical("add", h.random(n), (s, t) -> s.backend().add(s.on(x), s.on(y), t));
        h.checkIdentical("mul", h.random(n), (s, t) -> s.backend().mul(s.on(x), s.on(y), t));
        h.checkIdentical("add into its first operand", h.random(n), (s, t) -> s.backend().add(t, s.on(y), t));
        h.checkIdentical("mul into its second operand", h.random(n), (s, t) -> s.backend().mul(s.on(x), t, t));
        h.checkIdentical("axpy", h.random(n), (s, t) -> s.backend().axpy(-0.3f, s.on(x), t));
        h.checkIdentical("scale", h.random(n), (s, t) -> s.backend().scale(t, 1.7f));
    }

    private static void mismatchedSizes(Harness h) {
        Side c = h.candidate();
        Expect.thrown(IllegalArgumentException.class,
                () -> c.backend().add(c.on(h.random(3)), c.on(h.random(4)), c.fresh(h.random(3))), "add [3] + [4]");
        Expect.thrown(IllegalArgumentException.class,
                () -> c.backend().copy(c.on(h.random(3)), c.fresh(h.random(4))), "copy [3] → [4]");
    }

    /** x [rows, C] += bias [C]; dBias [C] += Σ rows of dy [rows, C]. */
    private static void bias(Harness h, int c) {
        for (int rows : new int[] {1, 7, 600}) {
            Tensor bias = h.random(c), dy = h.random(rows, c);
            h.checkIdentical("addBias", h.random(rows, c), (s, t) -> s.backend().addBias(t, s.on(bias)));
            h.check("addBiasBackward", h.random(c), (s, t) -> s.backend().addBiasBackward(s.on(dy), t));
        }
    }

    private static void dropout(Harness h, int n) {
        for (float p : new float[] {0f, 0.1f, 0.5f}) {
            for (long seed : new long[] {0L, 42L, -7L}) {
                h.checkIdentical("dropout p=" + p + " seed=" + seed, h.random(n), (s, t) -> s.backend().dropoutMask(t, p, seed));
            }
        }
    }
}
