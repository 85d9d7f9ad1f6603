package org.gptneo.backend.conformance;

import static org.gptneo.backend.conformance.ConformanceCase.kernel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.Tensor;

/**
 * The exp feature map and causal linear attention, forward (with and without a running state) and
 * backward, against the reference; and a state continued over several calls equals one call.
 */
final class LinearAttentionCases {
    private LinearAttentionCases() {}

    static final float EPS = 1e-6f;

    /**
     * {B, H, T, d, e}: one token of one feature, odd T, GPT-Neo head sizes, e ≠ d, one feature per
     * head, and enough (batch, head) pairs to split over threads.
     */
    private static final int[][] SHAPES = {
        {1, 1, 1, 1, 1}, {2, 3, 7, 8, 8}, {1, 2, 33, 64, 64}, {3, 1, 5, 8, 3}, {1, 1, 1, 64, 64}, {2, 2, 9, 1, 1},
        {4, 4, 24, 16, 16}
    };

    static List<ConformanceCase> all() {
        List<ConformanceCase> cases = new ArrayList<>();
        for (int n : new int[] {0, 1, 17, 1000, 100_003}) {
            cases.add(kernel("exp n=" + n, h -> exp(h, n)));
        }
        for (int[] shape : SHAPES) {
            String dims = Arrays.toString(shape);
            cases.add(kernel("linearAttentionCausal " + dims, h -> forward(h, shape)));
            cases.add(kernel("linearAttentionCausal with a running state " + dims, h -> withState(h, shape)));
            cases.add(kernel("linearAttentionCausalBackward " + dims, h -> backward(h, shape)));
        }
        cases.add(kernel("linearAttentionCausal continued over a prompt of 5 and 7 single tokens equals one call",
                LinearAttentionCases::continued));
        return cases;
    }

    /** x spread over about [−12, 12]: exp over 11 orders of magnitude. */
    private static void exp(Harness h, int n) {
        Tensor x = h.scaled(h.random(n), 4f);
        h.check("exp", h.random(n), (s, out) -> s.backend().exp(s.on(x), out));
    }

    private static void forward(Harness h, int[] shape) {
        Tensor q = queries(h, shape), k = keys(h, shape), v = h.random(values(shape));
        h.check("linear attention", h.random(values(shape)),
                (s, out) -> s.backend().linearAttentionCausal(s.on(q), s.on(k), s.on(v), EPS, null, null, out));
    }

    /** A state of earlier tokens (positive sums, as exp(k) makes them) joined by T new ones. */
    private static void withState(Harness h, int[] shape) {
        int b = shape[0], heads = shape[1], d = shape[3], e = shape[4];
        Tensor q = queries(h, shape), k = keys(h, shape), v = h.random(values(shape));
        Tensor state = h.random(b, heads, d, e), normaliser = keysOf(h, h.random(b, heads, d));
        h.check(new String[] {"linear attention out", "state", "normaliser"},
                new Tensor[] {h.random(values(shape)), state, normaliser},
                (s, outs) -> s.backend().linearAttentionCausal(s.on(q), s.on(k), s.on(v), EPS, outs[1], outs[2], outs[0]));
    }

    /** dq, dk, dv start from random values: the kernel adds into them. */
    private static void backward(Harness h, int[] shape) {
        Tensor q = queries(h, shape), k = keys(h, shape), v = h.random(values(shape)), dOut = h.random(values(shape));
        Tensor out = h.zeros(values(shape));
        h.reference().backend().linearAttentionCausal(q, k, v, EPS, null, null, out);
        int[] qk = Arrays.copyOf(shape, 4);
        h.check(new String[] {"linear attention dq", "dk", "dv"},
                new Tensor[] {h.random(qk), h.random(qk), h.random(values(shape))},
                (s, grads) -> s.backend().linearAttentionCausalBackward(s.on(q), s.on(k), s.on(v), EPS, s.on(out), s.on(dOut),
                        grads[0], grads[1], grads[2]));
    }

    /**
     * On each side: 12 tokens in one call without a state, and the same tokens as a prompt of 5 and
     * then one at a time through a state. Every piece must equal its tokens of the single call.
     */
    private static void continued(Harness h) {
        int[] shape = {2, 3, 12, 8, 8};
        int[] cuts = {0, 5, 6, 7, 8, 9, 10, 11, 12};
        Tensor q = queries(h, shape), k = keys(h, shape), v = h.random(values(shape));
        Tensor[] starts = new Tensor[cuts.length + 2];           // whole, the 8 pieces, state, normaliser
        starts[0] = h.zeros(values(shape));
        for (int i = 1; i < cuts.length; i++) starts[i] = h.zeros(2, 3, cuts[i] - cuts[i - 1], 8);
        starts[cuts.length] = h.zeros(2, 3, 8, 8);
        starts[cuts.length + 1] = h.zeros(2, 3, 8);
        Tensor[][] results = h.both(starts, (s, outs) -> {
            Backend b = s.backend();
            b.linearAttentionCausal(s.on(q), s.on(k), s.on(v), EPS, null, null, outs[0]);
            for (int i = 1; i < cuts.length; i++) {
                b.linearAttentionCausal(s.on(tokens(h, q, cuts[i - 1], cuts[i])), s.on(tokens(h, k, cuts[i - 1], cuts[i])),
                        s.on(tokens(h, v, cuts[i - 1], cuts[i])), EPS, outs[cuts.length], outs[cuts.length + 1], outs[i]);
            }
        });
        for (Tensor[] side : results) {
            for (int i = 1; i < cuts.length; i++) {
                Expect.close(side[i], tokens(h, side[0], cuts[i - 1], cuts[i]), Harness.TOLERANCE,
                        "tokens [" + cuts[i - 1] + ", " + cuts[i] + ") through the state");
            }
        }
        Expect.close(results[1][0], results[0][0], Harness.TOLERANCE, "the single call");
    }

    /** Tokens [from, to) of host tensor t [B, H, T, x], as a dense host tensor (built once per range). */
    private static Tensor tokens(Harness h, Tensor t, int from, int to) {
        Tensor dense = h.zeros(t.dim(0), t.dim(1), to - from, t.dim(3));
        h.reference().backend().copy(t.slice(2, from, to), dense);
        return dense;
    }

    /** softmax(x) over the features, as causal linear attention's queries are. */
    private static Tensor queries(Harness h, int[] shape) {
        Tensor x = h.random(Arrays.copyOf(shape, 4)), out = h.zeros(Arrays.copyOf(shape, 4));
        h.reference().backend().maskedSoftmax(x, AttentionMask.GLOBAL.bidirectional(), out);
        return out;
    }

    private static Tensor keys(Harness h, int[] shape) {
        return keysOf(h, h.random(Arrays.copyOf(shape, 4)));
    }

    /** exp(x): positive, as causal linear attention's keys are. */
    private static Tensor keysOf(Harness h, Tensor x) {
        h.reference().backend().exp(x, x);
        return x;
    }

    private static int[] values(int[] shape) {
        return new int[] {shape[0], shape[1], shape[2], shape[4]};
    }
}
