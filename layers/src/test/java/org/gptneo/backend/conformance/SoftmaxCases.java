package org.gptneo.backend.conformance;

import static org.gptneo.backend.conformance.ConformanceCase.kernel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.gptneo.backend.AttentionMask;
import org.gptneo.tensor.Tensor;

/** The masked attention softmax and its backward against the reference: windows, caches, padding, −∞. */
final class SoftmaxCases {
    private SoftmaxCases() {}

    /** {batch, heads, T, S}: square, cached keys (T < S), and T > S (rows that see no key at all). */
    private static final int[][] SHAPES = {
        {1, 1, 1, 1}, {2, 3, 7, 7}, {1, 2, 5, 17}, {2, 3, 33, 33}, {1, 1, 3, 130}, {1, 2, 1, 65}, {1, 1, 5, 3}
    };

    static List<ConformanceCase> all() {
        List<ConformanceCase> cases = new ArrayList<>();
        for (int window : new int[] {0, 2, 5}) {
            cases.add(kernel("maskedSoftmax with left padding, window=" + window, h -> leftPadding(h, new AttentionMask(window, new int[] {0, 3, 8}))));
            cases.add(kernel("bidirectional maskedSoftmax with left padding, window=" + window,
                    h -> leftPadding(h, new AttentionMask(window, new int[] {0, 3, 8}).bidirectional())));
        }
        for (int[] shape : SHAPES) {
            for (int window : new int[] {0, 1, 2, 3, 40}) {
                cases.add(kernel("maskedSoftmax and softmaxBackward shape=" + Arrays.toString(shape) + " window=" + window,
                        h -> softmaxAndBackward(h, shape, new AttentionMask(window, null))));
                cases.add(kernel("bidirectional maskedSoftmax shape=" + Arrays.toString(shape) + " window=" + window,
                        h -> softmaxAndBackward(h, shape, new AttentionMask(window, null).bidirectional())));
            }
        }
        cases.add(kernel("maskedSoftmax keeps the reference's answer for hidden and infinite scores",
                SoftmaxCases::infiniteScores));
        return cases;
    }

    /** Batch 3 × heads 2, T = 4 new queries over S = 9 keys; rows padded by 0, 3 and 8 slots. */
    private static void leftPadding(Harness h, AttentionMask mask) {
        Tensor scores = h.random(3, 2, 4, 9);
        h.check("padded softmax", h.random(3, 2, 4, 9), (s, probs) -> s.backend().maskedSoftmax(s.on(scores), mask, probs));
    }

    /** probs, scores, dProbs, dScores [..., T, S]; the backward from the reference's probs. */
    private static void softmaxAndBackward(Harness h, int[] shape, AttentionMask mask) {
        Tensor scores = h.scaled(h.random(shape), 4f); // a spread that makes the max subtraction matter
        h.check("softmax", h.random(shape), (s, probs) -> s.backend().maskedSoftmax(s.on(scores), mask, probs));

        Tensor probs = h.random(shape);
        h.reference().backend().maskedSoftmax(scores, mask, probs);
        Tensor dProbs = h.random(shape);
        h.check("softmax backward", h.random(shape),
                (s, dScores) -> s.backend().softmaxBackward(s.on(probs), s.on(dProbs), dScores));
    }

    private static void infiniteScores(Harness h) {
        Tensor scores = h.floats(new float[] {
                Float.NEGATIVE_INFINITY, 1f, 2f, Float.NEGATIVE_INFINITY, // the visible key of row 0 is −∞
                3f, Float.NEGATIVE_INFINITY, 5f, 6f}, 1, 2, 4);
        for (AttentionMask mask : List.of(AttentionMask.GLOBAL, AttentionMask.local(1), AttentionMask.local(2))) {
            h.check("softmax with −∞, window " + mask.window(), h.random(1, 2, 4),
                    (s, probs) -> s.backend().maskedSoftmax(s.on(scores), mask, probs));
        }
    }
}
