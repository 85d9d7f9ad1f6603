package org.gptneo.backend.conformance;

import static org.gptneo.backend.conformance.ConformanceCase.kernel;

import java.util.ArrayList;
import java.util.List;
import org.gptneo.backend.AdamWStep;
import org.gptneo.tensor.Tensor;

/** The AdamW step against the reference: parameter and both moments, with and without weight decay. */
final class OptimizerCases {
    private OptimizerCases() {}

    private static final List<AdamWStep> STEPS = List.of(
            new AdamWStep(1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 1),
            new AdamWStep(3e-4f, 0.8f, 0.95f, 1e-6f, 0f, 1000));

    static List<ConformanceCase> all() {
        List<ConformanceCase> cases = new ArrayList<>();
        for (int n : ElementwiseCases.LENGTHS) cases.add(kernel("adamW n=" + n, h -> adamW(h, n)));
        return cases;
    }

    /** param, grad, m, v [n]; updates param, m and v in place. */
    private static void adamW(Harness h, int n) {
        for (AdamWStep step : STEPS) {
            Tensor grad = h.random(n), param = h.random(n), m = h.random(n), v = h.random(n);
            h.reference().backend().mul(v, v, v); // second moments are non-negative
            h.check(new String[] {"adamW param", "adamW m", "adamW v"}, new Tensor[] {param, m, v},
                    (s, o) -> s.backend().adamW(o[0], s.on(grad), o[1], o[2], step));
        }
    }
}
