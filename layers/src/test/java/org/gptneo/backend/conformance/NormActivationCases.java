package org.gptneo.backend.conformance;

import static org.gptneo.backend.conformance.ConformanceCase.kernel;

import java.util.ArrayList;
import java.util.List;
import org.gptneo.tensor.Tensor;

/** LayerNorm and gelu_new, forward and backward, against the reference. */
final class NormActivationCases {
    private NormActivationCases() {}

    static List<ConformanceCase> all() {
        List<ConformanceCase> cases = new ArrayList<>();
        for (int c : new int[] {1, 3, 17, 33, 130, 768}) cases.add(kernel("layerNorm C=" + c, h -> layerNorm(h, c)));
        for (int n : ElementwiseCases.LENGTHS) cases.add(kernel("geluNew n=" + n, h -> gelu(h, n)));
        return cases;
    }

    /** x, out [rows, C]; gamma, beta [C]; mean, rstd [rows]; then the backward from the reference's mean and rstd. */
    private static void layerNorm(Harness h, int c) {
        for (int rows : new int[] {1, 5, 300}) {
            Tensor x = h.random(rows, c), gamma = h.random(c), beta = h.random(c), dOut = h.random(rows, c);
            Tensor[] starts = {h.random(rows, c), h.random(rows), h.random(rows)};
            Tensor[] forward = h.check(new String[] {"layerNorm out", "layerNorm mean", "layerNorm rstd"}, starts,
                    (s, o) -> s.backend().layerNorm(s.on(x), s.on(gamma), s.on(beta), 1e-5f, o[0], o[1], o[2]));

            Tensor mean = forward[1], rstd = forward[2];
            Tensor[] grads = {h.random(rows, c), h.random(c), h.random(c)};
            h.check(new String[] {"layerNorm dx, rows " + rows, "layerNorm dGamma, rows " + rows, "layerNorm dBeta, rows " + rows},
                    grads, (s, g) -> s.backend().layerNormBackward(s.on(dOut), s.on(x), s.on(gamma), s.on(mean), s.on(rstd),
                            g[0], g[1], g[2]));
        }
    }

    private static void gelu(Harness h, int n) {
        Tensor x = h.scaled(h.random(n), 3f); // reach the saturated tails of tanh too
        Tensor dOut = h.random(n);
        h.check("gelu", h.random(n), (s, t) -> s.backend().geluNew(s.on(x), t));
        h.check("gelu backward", h.random(n), (s, t) -> s.backend().geluNewBackward(s.on(x), s.on(dOut), t));
    }
}
