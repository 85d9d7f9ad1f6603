package org.gptneo.backend.conformance;

import static org.gptneo.backend.conformance.ConformanceCase.kernel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.gptneo.tensor.Tensor;

/**
 * matmul with an operand that is a strided view: a [B, H, capacity, hs] KV cache sliced along dim 2
 * to the S filled positions, as attention reads it. Each matrix of the view is dense and the
 * matrices are evenly spaced (capacity·hs apart); the view is A or B, transposed or not.
 */
final class StridedMatmulCases {
    private StridedMatmulCases() {}

    /** T new queries attend over the cache. */
    private static final int QUERIES = 3;

    /** A cache and the positions [from, to) that the view covers. */
    private record Window(int[] cache, int from, int to) {
        int batch() { return cache[0]; }
        int heads() { return cache[1]; }
        int s() { return to - from; }
        int hs() { return cache[3]; }

        @Override
        public String toString() {
            return "cache " + Arrays.toString(cache) + " positions [" + from + ", " + to + ")";
        }
    }

    private static final List<Window> WINDOWS = List.of(
            new Window(new int[] {2, 3, 9, 5}, 0, 1),
            new Window(new int[] {2, 3, 9, 5}, 0, 4),
            new Window(new int[] {2, 3, 9, 5}, 2, 7),
            new Window(new int[] {2, 3, 9, 5}, 0, 9),     // the whole capacity: a dense view
            new Window(new int[] {1, 4, 130, 33}, 17, 82));

    static List<ConformanceCase> all() {
        List<ConformanceCase> cases = new ArrayList<>();
        for (Window w : WINDOWS) {
            cases.add(kernel("matmul scores = q·Kᵀ, K a strided view of " + w, h -> scores(h, w)));
            cases.add(kernel("matmul context = P·V, V a strided view of " + w, h -> context(h, w)));
            cases.add(kernel("matmul K·W, K a strided view of " + w + ", W shared", h -> keysTimesShared(h, w)));
            cases.add(kernel("matmul Vᵀ·G accumulated, V a strided view of " + w, h -> valuesTransposedTimes(h, w)));
        }
        return cases;
    }

    /** scores [B, H, T, S] = q [B, H, T, hs] · K[:, :, from:to]ᵀ / √hs. */
    private static void scores(Harness h, Window w) {
        Tensor keys = h.random(w.cache()), q = h.random(w.batch(), w.heads(), QUERIES, w.hs());
        Tensor start = h.constant(Float.NaN, w.batch(), w.heads(), QUERIES, w.s()); // beta = 0 ignores it
        float alpha = (float) (1 / Math.sqrt(w.hs()));
        h.check("q·Kᵀ", start, (side, c) -> side.backend().matmul(side.on(q), false, view(side, keys, w), true, c, alpha, 0f));
    }

    /** context [B, H, T, hs] = P [B, H, T, S] · V[:, :, from:to]. */
    private static void context(Harness h, Window w) {
        Tensor values = h.random(w.cache()), p = h.random(w.batch(), w.heads(), QUERIES, w.s());
        Tensor start = h.constant(Float.NaN, w.batch(), w.heads(), QUERIES, w.hs());
        h.check("P·V", start, (side, c) -> side.backend().matmul(side.on(p), false, view(side, values, w), false, c, 1f, 0f));
    }

    /** y [B, H, S, 4] = 0.5·K[:, :, from:to] · W [hs, 4] − 1.5·y: a strided A, a shared B. */
    private static void keysTimesShared(Harness h, Window w) {
        Tensor keys = h.random(w.cache()), weight = h.random(w.hs(), 4);
        h.check("K·W", h.random(w.batch(), w.heads(), w.s(), 4),
                (side, c) -> side.backend().matmul(view(side, keys, w), false, side.on(weight), false, c, 0.5f, -1.5f));
    }

    /** dV-like [B, H, hs, 4] += V[:, :, from:to]ᵀ · G [B, H, S, 4]: a strided, transposed A. */
    private static void valuesTransposedTimes(Harness h, Window w) {
        Tensor values = h.random(w.cache()), g = h.random(w.batch(), w.heads(), w.s(), 4);
        h.check("Vᵀ·G", h.random(w.batch(), w.heads(), w.hs(), 4),
                (side, c) -> side.backend().matmul(view(side, values, w), true, side.on(g), false, c, 1f, 1f));
    }

    /** The side's cache [B, H, capacity, hs] sliced along dim 2 to [B, H, S, hs]. */
    private static Tensor view(Side side, Tensor cache, Window w) {
        return side.on(cache).slice(2, w.from(), w.to());
    }
}
