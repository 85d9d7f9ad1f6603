package org.gptneo.backend.conformance;

import static org.gptneo.backend.conformance.ConformanceCase.kernel;

import java.util.ArrayList;
import java.util.List;
import org.gptneo.tensor.Tensor;

/**
 * Sums in double: sum and sumOfSquares answer a number, addSumOfSquares leaves it in a tensor. Both
 * sides sum in double, in different orders, so the numbers differ by a few double ulps of Σ|x|.
 */
final class ReductionCases {
    private ReductionCases() {}

    static List<ConformanceCase> all() {
        List<ConformanceCase> cases = new ArrayList<>();
        for (int n : ElementwiseCases.LENGTHS) cases.add(kernel("sum and sumOfSquares n=" + n, h -> sums(h, n)));
        for (int n : ElementwiseCases.LENGTHS) cases.add(kernel("addSumOfSquares n=" + n, h -> addSumOfSquares(h, n)));
        return cases;
    }

    private static void sums(Harness h, int n) {
        Tensor x = h.random(n);
        double squares = h.reference().backend().sumOfSquares(x), absSum = 0;
        for (float v : x.toFloatArray()) absSum += Math.abs(v);
        Side c = h.candidate();
        Expect.closeTo(c.backend().sumOfSquares(c.on(x)), squares, 1e-12 * (squares + 1), "sumOfSquares");
        Expect.closeTo(c.backend().sum(c.on(x)), h.reference().backend().sum(x), 1e-12 * (absSum + 1), "sum");
    }

    /** out [1] = 0.25, then += Σ x² and += Σ y²: a gradient norm over two parameters, on the device. */
    private static void addSumOfSquares(Harness h, int n) {
        Tensor x = h.random(n), y = h.scaled(h.random(n), 0.5f);
        h.check("addSumOfSquares", h.constant(0.25f, 1), (s, out) -> {
            s.backend().addSumOfSquares(s.on(x), out);
            s.backend().addSumOfSquares(s.on(y), out);
        });
    }
}
