package org.gptneo.backend.conformance;

import static org.gptneo.backend.conformance.ConformanceCase.kernel;

import java.util.ArrayList;
import java.util.List;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * Token embedding and cross-entropy against the reference: lookups and scatters bit for bit, in
 * half precision too; losses, their mean (NaN when every target is ignored, as PyTorch) and
 * backward; and out-of-range ids refused with the reference's exception and message.
 */
final class EmbeddingLossCases {
    private EmbeddingLossCases() {}

    private static final int IGNORE = -100;

    static List<ConformanceCase> all() {
        List<ConformanceCase> cases = new ArrayList<>();
        for (int c : new int[] {1, 3, 17, 130}) cases.add(kernel("embedding C=" + c, h -> embedding(h, c)));
        for (DType dtype : new DType[] {DType.BF16, DType.F16}) {
            cases.add(kernel("embedding widens a " + dtype + " table exactly", h -> halfPrecisionTable(h, dtype)));
        }
        cases.add(kernel("embedding widens a Q8 table exactly", EmbeddingLossCases::q8Table));
        for (int bad : new int[] {-1, 11, Integer.MAX_VALUE}) {
            cases.add(kernel("embedding rejects the id " + bad + " like the reference", h -> badId(h, bad)));
        }
        for (int v : new int[] {1, 3, 17, 130, 1000}) cases.add(kernel("crossEntropy V=" + v, h -> crossEntropy(h, v)));
        cases.add(kernel("crossEntropy rejects an out-of-range target like the reference", EmbeddingLossCases::badTarget));
        for (int v : new int[] {1, 17, 1000}) cases.add(kernel("crossEntropyMean V=" + v, h -> crossEntropyMean(h, v)));
        cases.add(kernel("crossEntropyMean of only ignored targets is NaN", EmbeddingLossCases::allIgnored));
        return cases;
    }

    /** out [n, C] = table [11, C] rows ids [n]; dTable [11, C] += dOut [n, C] scattered. */
    private static void embedding(Harness h, int c) {
        int vocab = 11;
        for (int n : new int[] {1, 7, 40, 600}) {
            Tensor table = h.random(vocab, c), dOut = h.random(n, c), ids = h.ids(n, vocab);
            h.checkIdentical("embedding", h.random(n, c), (s, out) -> s.backend().embedding(s.on(table), s.on(ids), out));
            h.checkIdentical("embedding backward", h.random(vocab, c),
                    (s, dTable) -> s.backend().embeddingBackward(s.on(ids), s.on(dOut), dTable));
        }
    }

    private static void halfPrecisionTable(Harness h, DType dtype) {
        Tensor table = h.as(dtype, h.random(11, 33)), ids = h.ints(new int[] {3, 0, 10, 3}, 4);
        h.check(dtype + " embedding", h.random(4, 33), (s, out) -> s.backend().embedding(s.on(table), s.on(ids), out));
    }

    private static void q8Table(Harness h) {
        Tensor table = h.as(DType.Q8, h.random(11, 64)), ids = h.ints(new int[] {3, 0, 10, 3}, 4); // rows of two blocks
        h.check("Q8 embedding", h.random(4, 64), (s, out) -> s.backend().embedding(s.on(table), s.on(ids), out));
    }

    private static void badId(Harness h, int bad) {
        Tensor table = h.random(11, 3), ids = h.ints(new int[] {2, 4, bad, 1}, 4);
        Tensor out = h.random(4, 3), dTable = h.random(11, 3);
        String message = Expect.thrown(IndexOutOfBoundsException.class,
                () -> h.reference().backend().embedding(table, ids, h.reference().fresh(out)), "the reference's embedding").getMessage();
        Side c = h.candidate();
        Expect.thrownWithMessage(IndexOutOfBoundsException.class, message,
                () -> c.backend().embedding(c.on(table), c.on(ids), c.fresh(out)), "embedding");
        Expect.thrownWithMessage(IndexOutOfBoundsException.class, message,
                () -> c.backend().embeddingBackward(c.on(ids), c.on(out), c.fresh(dTable)), "embeddingBackward");
    }

    /** losses [n] of logits [n, V] and targets [n] (one ignored), and dLogits [n, V] += (1/n)·∂. */
    private static void crossEntropy(Harness h, int v) {
        for (int n : new int[] {1, 9}) {
            Tensor logits = h.scaled(h.random(n, v), 5f), targets = targets(h, n, v);
            h.check("cross entropy", h.random(n), (s, losses) -> s.backend().crossEntropy(s.on(logits), s.on(targets), IGNORE, losses));
            h.check("cross entropy backward", h.random(n, v),
                    (s, d) -> s.backend().crossEntropyBackward(s.on(logits), s.on(targets), IGNORE, 1f / n, d));
        }
    }

    private static void badTarget(Harness h) {
        Tensor logits = h.random(3, 5), targets = h.ints(new int[] {1, 5, 0}, 3);
        String message = Expect.thrown(IndexOutOfBoundsException.class,
                () -> h.reference().backend().crossEntropy(logits, targets, IGNORE, h.random(3)), "the reference's crossEntropy").getMessage();
        Side c = h.candidate();
        Expect.thrownWithMessage(IndexOutOfBoundsException.class, message,
                () -> c.backend().crossEntropy(c.on(logits), c.on(targets), IGNORE, c.fresh(h.random(3))), "crossEntropy");
        Expect.thrownWithMessage(IndexOutOfBoundsException.class, message,
                () -> c.backend().crossEntropyBackward(c.on(logits), c.on(targets), IGNORE, 1f, c.fresh(h.random(3, 5))),
                "crossEntropyBackward");
    }

    /** out [1] = the mean loss over the targets not ignored; dLogits [n, V] += its gradient times dOut [1]. */
    private static void crossEntropyMean(Harness h, int v) {
        for (int n : new int[] {1, 9}) {
            Tensor logits = h.scaled(h.random(n, v), 5f), dOut = h.floats(new float[] {0.7f}, 1);
            Tensor targets = n == 1 ? h.ids(1, v) : targets(h, n, v); // one row is not ignored: no 0/0 here
            h.check("cross entropy mean", h.random(1),
                    (s, out) -> s.backend().crossEntropyMean(s.on(logits), s.on(targets), IGNORE, out));
            h.check("cross entropy mean backward", h.random(n, v),
                    (s, d) -> s.backend().crossEntropyMeanBackward(s.on(logits), s.on(targets), IGNORE, s.on(dOut), d));
        }
    }

    /** Every target ignored: the mean is 0/0 = NaN and the backward adds nothing. */
    private static void allIgnored(Harness h) {
        Tensor logits = h.random(3, 7), targets = h.ints(new int[] {IGNORE, IGNORE, IGNORE}, 3);
        Tensor dOut = h.floats(new float[] {1f}, 1);
        Tensor[][] mean = h.both(new Tensor[] {h.random(1)},
                (s, out) -> s.backend().crossEntropyMean(s.on(logits), s.on(targets), IGNORE, out[0]));
        Expect.that(Float.isNaN(mean[0][0].getFloat(0)), "the reference's mean of no targets: " + mean[0][0].getFloat(0));
        Expect.that(Float.isNaN(mean[1][0].getFloat(0)), "crossEntropyMean of no targets: " + mean[1][0].getFloat(0) + ", expected NaN");
        Tensor start = h.random(3, 7);
        Tensor[][] backward = h.both(new Tensor[] {start},
                (s, d) -> s.backend().crossEntropyMeanBackward(s.on(logits), s.on(targets), IGNORE, s.on(dOut), d[0]));
        Expect.identical(backward[0][0], start, "the reference's mean backward of no targets adds nothing");
        Expect.identical(backward[1][0], start, "crossEntropyMeanBackward of no targets adds nothing");
    }

    /** targets [n] uniform in [0, v), the middle one ignored. */
    private static Tensor targets(Harness h, int n, int v) {
        int[] targets = h.ids(n, v).toIntArray();
        targets[n / 2] = IGNORE;
        return h.ints(targets, n);
    }
}
