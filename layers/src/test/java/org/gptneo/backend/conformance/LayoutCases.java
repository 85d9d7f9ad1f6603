package org.gptneo.backend.conformance;

import static org.gptneo.backend.conformance.ConformanceCase.kernel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.gptneo.tensor.Tensor;

/**
 * Kernels that move elements between layouts, bit for bit: swapMiddle, and copy into and out of
 * strided views (slices along dims 1 and 2 of a rank-4 [B, H, capacity, hs] buffer, as a KV cache
 * appends and reads), and download of such a view.
 */
final class LayoutCases {
    private LayoutCases() {}

    /** A rank-4 buffer and the range [from, to) of dimension dim that the view covers. */
    private record View(int[] buffer, int dim, int from, int to) {
        int[] shape() {
            int[] shape = buffer.clone();
            shape[dim] = to - from;
            return shape;
        }

        Tensor of(Tensor buffer) {
            return buffer.slice(dim, from, to);
        }

        @Override
        public String toString() {
            return "dim " + dim + " [" + from + ", " + to + ") of " + Arrays.toString(buffer);
        }
    }

    private static final List<View> VIEWS = List.of(
            new View(new int[] {2, 3, 9, 5}, 2, 0, 1),      // one new position
            new View(new int[] {2, 3, 9, 5}, 2, 2, 7),
            new View(new int[] {2, 3, 9, 5}, 2, 0, 9),      // the whole capacity: dense
            new View(new int[] {2, 3, 9, 5}, 1, 1, 3),      // heads
            new View(new int[] {1, 4, 130, 33}, 2, 17, 82),
            new View(new int[] {3, 4, 130, 16}, 1, 2, 3));

    static List<ConformanceCase> all() {
        List<ConformanceCase> cases = new ArrayList<>();
        cases.add(kernel("swapMiddle", LayoutCases::swapMiddle));
        cases.add(kernel("copy of I32 ids", LayoutCases::copyInts));
        for (View view : VIEWS) {
            cases.add(kernel("copy into a strided view, " + view, h -> copyInto(h, view)));
            cases.add(kernel("copy out of a strided view, and download it, " + view, h -> copyOutOf(h, view)));
        }
        return cases;
    }

    /** out [A, C, B, D] = x [A, B, C, D], overwritten and accumulated. */
    private static void swapMiddle(Harness h) {
        for (int[] s : new int[][] {{1, 1, 1, 1}, {2, 3, 5, 7}, {1, 17, 4, 33}, {3, 4, 130, 16}}) {
            Tensor x = h.random(s);
            int[] swapped = {s[0], s[2], s[1], s[3]};
            h.checkIdentical("swap", h.random(swapped), (side, t) -> side.backend().swapMiddle(side.on(x), t, false));
            h.checkIdentical("swap+", h.random(swapped), (side, t) -> side.backend().swapMiddle(side.on(x), t, true));
        }
    }

    /** I32 labels copied as they are (a masked-LM loss takes its targets unshifted). */
    private static void copyInts(Harness h) {
        Tensor ids = h.ids(1000, 50_257);
        h.checkIdentical("copy of ids", h.ints(new int[1000], 1000), (side, dst) -> side.backend().copy(side.on(ids), dst));
    }

    /** buffer[view] = src: every element outside the view keeps its value. */
    private static void copyInto(Harness h, View view) {
        Tensor src = h.random(view.shape());
        h.checkIdentical("copy into " + view, h.random(view.buffer()),
                (side, buffer) -> side.backend().copy(side.on(src), view.of(buffer)));
    }

    /** dst = buffer[view]; the view itself downloaded. */
    private static void copyOutOf(Harness h, View view) {
        Tensor buffer = h.random(view.buffer());
        h.checkIdentical("copy out of " + view, h.random(view.shape()),
                (side, dst) -> side.backend().copy(view.of(side.on(buffer)), dst));
        Side c = h.candidate();
        Expect.identical(c.host(view.of(c.on(buffer))), view.of(buffer), "download of " + view);
    }
}
