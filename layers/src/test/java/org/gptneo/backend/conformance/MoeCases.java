package org.gptneo.backend.conformance;

import static org.gptneo.backend.conformance.ConformanceCase.kernel;

import java.util.ArrayList;
import java.util.List;
import org.gptneo.tensor.Tensor;

/**
 * The mixture-of-experts kernels against the reference: relu and its backward, the weighted row
 * scatter-add (repeated rows, bit for bit) and its backward, the top-k renormalisation, and bad row
 * indices refused with the reference's exception and message.
 */
final class MoeCases {
    private MoeCases() {}

    static List<ConformanceCase> all() {
        List<ConformanceCase> cases = new ArrayList<>();
        for (int n : ElementwiseCases.LENGTHS) cases.add(kernel("relu n=" + n, h -> relu(h, n)));
        for (int c : new int[] {1, 3, 17, 130}) {
            for (int m : new int[] {1, 9, 700}) cases.add(kernel("scatterAddRows M=" + m + " C=" + c, h -> scatter(h, m, c)));
        }
        for (int k : new int[] {1, 2, 5}) cases.add(kernel("normalizeRows K=" + k, h -> normalize(h, k)));
        for (int bad : new int[] {-1, 6}) cases.add(kernel("scatterAddRows rejects the row " + bad + " like the reference", h -> badRow(h, bad)));
        return cases;
    }

    /** x, out, dx [n] with exact zeros planted: relu passes x ≥ 0, its backward only where x &gt; 0. */
    private static void relu(Harness h, int n) {
        Tensor x = h.random(n), dOut = h.random(n);
        for (int i = 0; i < n; i += 5) x.setFloat(i, 0f);
        h.checkIdentical("relu", h.random(n), (s, out) -> s.backend().relu(s.on(x), out));
        h.checkIdentical("relu backward", h.random(n), (s, dx) -> s.backend().reluBackward(s.on(x), s.on(dOut), dx));
    }

    /** src [M, C], weights [M], rows [M] into out [6, C] (rows repeat); backward into dSrc [M, C], dWeights [M]. */
    private static void scatter(Harness h, int m, int c) {
        int r = 6;
        Tensor src = h.random(m, c), weights = h.random(m), rows = h.ids(m, r), dOut = h.random(r, c);
        h.checkIdentical("scatterAddRows", h.random(r, c),
                (s, out) -> s.backend().scatterAddRows(s.on(src), s.on(weights), s.on(rows), out));
        h.check(new String[] {"scatterAddRows dSrc", "scatterAddRows dWeights"}, new Tensor[] {h.random(m, c), h.random(m)},
                (s, g) -> s.backend().scatterAddRowsBackward(s.on(dOut), s.on(src), s.on(weights), s.on(rows), g[0], g[1]));
    }

    /** x, out, dx [N, K] of positive x (gate probabilities), for N = 1, 7 and 5000 rows. */
    private static void normalize(Harness h, int k) {
        for (int n : new int[] {1, 7, 5000}) {
            Tensor x = h.random(n, k), dOut = h.random(n, k);
            for (int i = 0; i < x.size(); i++) x.setFloat(i, Math.abs(x.getFloat(i)) + 1e-3f);
            Tensor[] forward = h.check(new String[] {"normalizeRows"}, new Tensor[] {h.random(n, k)},
                    (s, o) -> s.backend().normalizeRows(s.on(x), 1e-9f, o[0]));
            Tensor out = forward[0];
            h.check("normalizeRows backward, rows " + n, h.random(n, k),
                    (s, dx) -> s.backend().normalizeRowsBackward(s.on(x), s.on(out), s.on(dOut), 1e-9f, dx));
        }
    }

    private static void badRow(Harness h, int bad) {
        Tensor src = h.random(4, 3), weights = h.random(4), rows = h.ints(new int[] {2, 5, bad, 1}, 4);
        Tensor out = h.random(6, 3);
        String message = Expect.thrown(IndexOutOfBoundsException.class,
                () -> h.reference().backend().scatterAddRows(src, weights, rows, h.reference().fresh(out)),
                "the reference's scatterAddRows").getMessage();
        Side c = h.candidate();
        Expect.thrownWithMessage(IndexOutOfBoundsException.class, message,
                () -> c.backend().scatterAddRows(c.on(src), c.on(weights), c.on(rows), c.fresh(out)), "scatterAddRows");
        Expect.thrownWithMessage(IndexOutOfBoundsException.class, message,
                () -> c.backend().scatterAddRowsBackward(c.on(out), c.on(src), c.on(weights), c.on(rows), c.fresh(src),
                        c.fresh(weights)), "scatterAddRowsBackward");
    }
}
