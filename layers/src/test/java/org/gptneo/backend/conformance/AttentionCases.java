package org.gptneo.backend.conformance;

import static org.gptneo.backend.conformance.ConformanceCase.kernel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.gptneo.backend.AttentionMask;
import org.gptneo.tensor.Tensor;

/**
 * Fused attention ({@code attention}, {@code attentionBackward}) against the reference's composition
 * of matmul, maskedSoftmax and dropout: windows, padding, bidirectional masks, rows that see no key,
 * dropout, and keys and values read through a KV cache's strided view.
 */
final class AttentionCases {
    private AttentionCases() {}

    /** {batch, heads, T, S, hs}: square, cached keys (T < S), T > S (rows with no key), long rows, odd sizes. */
    private static final int[][] SHAPES = {
        {1, 1, 1, 1, 4}, {2, 3, 7, 7, 8}, {1, 2, 5, 17, 16}, {2, 2, 33, 33, 32}, {1, 1, 3, 130, 64},
        {1, 2, 1, 65, 8}, {1, 1, 5, 3, 4}, {1, 2, 70, 70, 12}
    };

    static List<ConformanceCase> all() {
        List<ConformanceCase> cases = new ArrayList<>();
        for (int[] shape : SHAPES) {
            for (int window : new int[] {0, 1, 3, 40}) {
                String name = " shape=" + Arrays.toString(shape) + " window=" + window;
                cases.add(kernel("attention and attentionBackward" + name,
                        h -> forwardAndBackward(h, shape, new AttentionMask(window, null), 0f, false)));
                cases.add(kernel("bidirectional attention" + name,
                        h -> forwardAndBackward(h, shape, new AttentionMask(window, null).bidirectional(), 0f, false)));
            }
            cases.add(kernel("attention with dropout shape=" + Arrays.toString(shape),
                    h -> forwardAndBackward(h, shape, AttentionMask.GLOBAL, 0.3f, false)));
            cases.add(kernel("attention over a cache view shape=" + Arrays.toString(shape),
                    h -> forwardAndBackward(h, shape, AttentionMask.local(4), 0f, true)));
        }
        for (int window : new int[] {0, 2, 5}) {
            AttentionMask padded = new AttentionMask(window, new int[] {0, 3, 8});
            cases.add(kernel("attention with left padding, window=" + window,
                    h -> forwardAndBackward(h, new int[] {3, 2, 4, 9, 8}, padded, 0f, false)));
            cases.add(kernel("bidirectional attention with left padding, window=" + window,
                    h -> forwardAndBackward(h, new int[] {3, 2, 4, 9, 8}, padded.bidirectional(), 0.2f, true)));
        }
        return cases;
    }

    /**
     * out [B, H, T, hs] from q [B, H, T, hs] and k, v [B, H, S, hs], then dq, dk, dv (prefilled:
     * backward kernels add) from dOut. With {@code cacheView} k and v are the first S slots of a
     * [B, H, S + 5, hs] buffer (gradients are dense: only inputs are views).
     */
    private static void forwardAndBackward(Harness h, int[] shape, AttentionMask mask, float dropout, boolean cacheView) {
        int b = shape[0], heads = shape[1], t = shape[2], s = shape[3], hs = shape[4];
        int slots = cacheView ? s + 5 : s;
        Tensor q = h.scaled(h.random(b, heads, t, hs), 0.6f), dOut = h.random(b, heads, t, hs);
        Tensor k = h.scaled(h.random(b, heads, slots, hs), 0.6f), v = h.random(b, heads, slots, hs);
        long seed = 977;
        Tensor[] starts = {h.zeros(b, heads, t, hs), h.zeros(b, heads, t), h.random(b, heads, t, hs),
            h.random(b, heads, s, hs), h.random(b, heads, s, hs)};
        Tensor[][] results = h.both(starts, (side, outs) -> {
            Tensor ks = view(side.on(k), s), vs = view(side.on(v), s);
            side.backend().attention(side.on(q), ks, vs, mask, dropout, seed, outs[0], outs[1]);
            side.backend().attentionBackward(side.on(q), ks, vs, mask, dropout, seed, outs[0], outs[1], side.on(dOut),
                    outs[2], outs[3], outs[4]);
        });
        String[] whats = {"attention out", null, "attention dq", "attention dk", "attention dv"};
        for (int i = 0; i < whats.length; i++) {
            if (whats[i] != null) Expect.close(results[1][i], results[0][i], Harness.TOLERANCE, whats[i] + " " + mask);
        }
    }

    private static Tensor view(Tensor full, int s) {
        return full.dim(2) == s ? full : full.slice(2, 0, s);
    }
}
