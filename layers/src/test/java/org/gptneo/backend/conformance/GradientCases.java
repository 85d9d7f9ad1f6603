package org.gptneo.backend.conformance;

import static org.gptneo.backend.conformance.ConformanceCase.gradient;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.Tensor;

/**
 * Every backward kernel of the candidate against {@link FiniteDifferences} of its own forward
 * kernel: inputs are host tensors, uploaded; forward outputs and gradients are downloaded.
 */
final class GradientCases {
    private GradientCases() {}

    private static final int IGNORE = -100;

    static List<ConformanceCase> all() {
        List<ConformanceCase> cases = new ArrayList<>();
        cases.add(of("layerNormBackward gives the gradients of layerNorm", GradientCases::layerNorm));
        cases.add(of("geluNewBackward gives the derivative of geluNew", GradientCases::gelu));
        for (AttentionMask mask : List.of(AttentionMask.GLOBAL, AttentionMask.local(2))) {
            cases.add(of("softmaxBackward gives the gradient of maskedSoftmax, window " + mask.window(), fd -> softmax(fd, mask)));
        }
        for (AttentionMask mask : List.of(AttentionMask.GLOBAL, AttentionMask.local(2), AttentionMask.local(3).bidirectional())) {
            cases.add(of("attentionBackward gives the gradients of attention, " + mask, fd -> attention(fd, mask)));
        }
        cases.add(of("embeddingBackward scatters the gradient of the lookup", GradientCases::embedding));
        cases.add(of("crossEntropyBackward gives the gradient of the scaled loss sum", GradientCases::crossEntropy));
        cases.add(of("crossEntropyMeanBackward gives the gradient of the mean loss", GradientCases::crossEntropyMean));
        cases.add(of("addBiasBackward sums the rows", GradientCases::bias));
        cases.add(of("swapMiddle is its own adjoint", GradientCases::swapMiddle));
        cases.add(of("the inverse rotary rotation is the adjoint of the rotation", GradientCases::rotary));
        cases.add(of("reluBackward gives the derivative of relu", GradientCases::relu));
        cases.add(of("scatterAddRowsBackward gives the gradients of the weighted scatter-add", GradientCases::scatterAddRows));
        cases.add(of("normalizeRowsBackward gives the gradient of the row renormalisation", GradientCases::normalizeRows));
        cases.add(of("linearAttentionCausalBackward gives the gradients of linearAttentionCausal", GradientCases::linearAttention));
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                cases.add(of("matmul transposes give its gradients, transposeA=%b transposeB=%b".formatted(ta, tb),
                        fd -> matmul(fd, ta, tb)));
            }
        }
        return cases;
    }

    private static ConformanceCase of(String name, Consumer<FiniteDifferences> body) {
        return gradient(name, h -> body.accept(new FiniteDifferences(h)));
    }

    /** x, out, dx [3, 7]; gamma, beta [7]; mean, rstd [3]. */
    private static void layerNorm(FiniteDifferences fd) {
        int rows = 3, c = 7;
        Backend b = fd.backend();
        Tensor x = fd.random(rows, c), gamma = fd.random(c), beta = fd.random(c), w = fd.random(rows, c);
        Tensor out = fd.output(rows, c), mean = fd.output(rows), rstd = fd.output(rows);
        double[] numericX = fd.numericGradient(x, xs -> {
            b.layerNorm(xs, fd.on(gamma), fd.on(beta), 1e-5f, out, mean, rstd);
            return fd.dot(w, out);
        });
        double[] numericGamma = fd.numericGradient(gamma, gs -> {
            b.layerNorm(fd.on(x), gs, fd.on(beta), 1e-5f, out, mean, rstd);
            return fd.dot(w, out);
        });
        double[] numericBeta = fd.numericGradient(beta, bs -> {
            b.layerNorm(fd.on(x), fd.on(gamma), bs, 1e-5f, out, mean, rstd);
            return fd.dot(w, out);
        });

        b.layerNorm(fd.on(x), fd.on(gamma), fd.on(beta), 1e-5f, out, mean, rstd);
        Tensor dx = fd.prefilled(rows, c), dGamma = fd.prefilled(c), dBeta = fd.prefilled(c);
        b.layerNormBackward(fd.on(w), fd.on(x), fd.on(gamma), mean, rstd, dx, dGamma, dBeta);
        fd.assertGradient(dx, numericX, "layerNorm dx");
        fd.assertGradient(dGamma, numericGamma, "layerNorm dGamma");
        fd.assertGradient(dBeta, numericBeta, "layerNorm dBeta");
    }

    /** x, out, dx [40], x spread over [−6, 6]. */
    private static void gelu(FiniteDifferences fd) {
        Backend b = fd.backend();
        Tensor x = fd.random(40), w = fd.random(40), out = fd.output(40);
        fd.scale(x, 2f);
        double[] numeric = fd.numericGradient(x, xs -> {
            b.geluNew(xs, out);
            return fd.dot(w, out);
        });
        Tensor dx = fd.prefilled(40);
        b.geluNewBackward(fd.on(x), fd.on(w), dx);
        fd.assertGradient(dx, numeric, "gelu dx");
    }

    /** scores, probs, dScores [2, 3, 5]: T = 3 queries against S = 5 keys, two of them cached. */
    private static void softmax(FiniteDifferences fd, AttentionMask mask) {
        Backend b = fd.backend();
        int[] shape = {2, 3, 5};
        Tensor scores = fd.random(shape), w = fd.random(shape), probs = fd.output(shape);
        double[] numeric = fd.numericGradient(scores, ss -> {
            b.maskedSoftmax(ss, mask, probs);
            return fd.dot(w, probs);
        });
        b.maskedSoftmax(fd.on(scores), mask, probs);
        Tensor dScores = fd.prefilled(shape);
        b.softmaxBackward(probs, fd.on(w), dScores);
        fd.assertGradient(dScores, numeric, "softmax dScores");
    }

    /** q [1, 2, 4, 3], k and v [1, 2, 6, 3] (two cached keys), out [1, 2, 4, 3]; dropout on, as in training. */
    private static void attention(FiniteDifferences fd, AttentionMask mask) {
        Backend b = fd.backend();
        int[] qShape = {1, 2, 4, 3}, kShape = {1, 2, 6, 3};
        float dropout = 0.25f;
        long seed = 5;
        Tensor q = fd.random(qShape), k = fd.random(kShape), v = fd.random(kShape), w = fd.random(qShape);
        Tensor out = fd.output(qShape), stats = fd.output(1, 2, 4);
        Tensor[] inputs = {q, k, v};
        Tensor[] grads = {fd.prefilled(qShape), fd.prefilled(kShape), fd.prefilled(kShape)};
        double[][] numeric = new double[3][];
        for (int i = 0; i < 3; i++) {
            int which = i;
            numeric[i] = fd.numericGradient(inputs[i], x -> {
                Tensor[] args = {fd.on(q), fd.on(k), fd.on(v)};
                args[which] = x;
                b.attention(args[0], args[1], args[2], mask, dropout, seed, out, stats);
                return fd.dot(w, out);
            });
        }
        b.attention(fd.on(q), fd.on(k), fd.on(v), mask, dropout, seed, out, stats);
        b.attentionBackward(fd.on(q), fd.on(k), fd.on(v), mask, dropout, seed, out, stats, fd.on(w), grads[0], grads[1], grads[2]);
        String[] names = {"attention dq", "attention dk", "attention dv"};
        for (int i = 0; i < 3; i++) fd.assertGradient(grads[i], numeric[i], names[i]);
    }

    /** table, dTable [6, 5]; ids [7] with repeats, rows 2 and 4 unused; out [7, 5]. */
    private static void embedding(FiniteDifferences fd) {
        Backend b = fd.backend();
        Tensor table = fd.random(6, 5), w = fd.random(7, 5), out = fd.output(7, 5);
        Tensor ids = fd.ints(3, 0, 3, 5, 1, 3, 0);
        double[] numeric = fd.numericGradient(table, ts -> {
            b.embedding(ts, fd.on(ids), out);
            return fd.dot(w, out);
        });
        Tensor dTable = fd.prefilled(6, 5);
        b.embeddingBackward(fd.on(ids), fd.on(w), dTable);
        fd.assertGradient(dTable, numeric, "embedding dTable");
    }

    /** L = (1/3)·Σ losses of logits [4, 6] (one target ignored). */
    private static void crossEntropy(FiniteDifferences fd) {
        Backend b = fd.backend();
        int n = 4, v = 6;
        float scale = 1f / 3;
        Tensor logits = fd.random(n, v), losses = fd.output(n);
        fd.scale(logits, 2f);
        Tensor targets = fd.ints(2, IGNORE, 5, 0);
        double[] numeric = fd.numericGradient(logits, ls -> {
            b.crossEntropy(ls, fd.on(targets), IGNORE, losses);
            double total = 0;
            for (float loss : fd.values(losses)) total += scale * (double) loss;
            return total;
        });
        Tensor dLogits = fd.prefilled(n, v);
        b.crossEntropyBackward(fd.on(logits), fd.on(targets), IGNORE, scale, dLogits);
        fd.assertGradient(dLogits, numeric, "cross entropy dLogits");
    }

    /** L = 0.8·mean of the losses of logits [4, 6] (one target ignored, so over 3 rows); dOut [1] = 0.8. */
    private static void crossEntropyMean(FiniteDifferences fd) {
        Backend b = fd.backend();
        Tensor logits = fd.random(4, 6), mean = fd.output(1), dOut = fd.floats(0.8f);
        fd.scale(logits, 2f);
        Tensor targets = fd.ints(2, IGNORE, 5, 0);
        double[] numeric = fd.numericGradient(logits, ls -> {
            b.crossEntropyMean(ls, fd.on(targets), IGNORE, mean);
            return fd.dot(dOut, mean);
        });
        Tensor dLogits = fd.prefilled(4, 6);
        b.crossEntropyMeanBackward(fd.on(logits), fd.on(targets), IGNORE, fd.on(dOut), dLogits);
        fd.assertGradient(dLogits, numeric, "cross entropy mean dLogits");
    }

    /** out [5, 4] = x + bias [4]. */
    private static void bias(FiniteDifferences fd) {
        Backend b = fd.backend();
        Tensor x = fd.random(5, 4), bias = fd.random(4), w = fd.random(5, 4), out = fd.output(5, 4);
        double[] numeric = fd.numericGradient(bias, bs -> {
            b.copy(fd.on(x), out);
            b.addBias(out, bs);
            return fd.dot(w, out);
        });
        Tensor dBias = fd.prefilled(4);
        b.addBiasBackward(fd.on(w), dBias);
        fd.assertGradient(dBias, numeric, "bias dBias");
    }

    /** out [2, 4, 3, 5] = x [2, 3, 4, 5] with the middle dimensions swapped; dx = swapMiddle(dOut). */
    private static void swapMiddle(FiniteDifferences fd) {
        Backend b = fd.backend();
        Tensor x = fd.random(2, 3, 4, 5), w = fd.random(2, 4, 3, 5), out = fd.output(2, 4, 3, 5);
        double[] numeric = fd.numericGradient(x, xs -> {
            b.swapMiddle(xs, out, false);
            return fd.dot(w, out);
        });
        Tensor dx = fd.prefilled(2, 3, 4, 5);
        b.swapMiddle(fd.on(w), dx, true);
        fd.assertGradient(dx, numeric, "swapMiddle dx");
    }

    /** out = rotary(x) for x [2, 3, 4, 6] at positions [8]; dx = rotary⁻¹(dOut). */
    private static void rotary(FiniteDifferences fd) {
        Backend b = fd.backend();
        Tensor x = fd.random(2, 3, 4, 6), w = fd.random(2, 3, 4, 6), out = fd.output(2, 3, 4, 6);
        Tensor positions = fd.ints(0, 1, 2, 3, 7, 100, 1000, 5);
        double[] numeric = fd.numericGradient(x, xs -> {
            b.rotary(xs, fd.on(positions), 10000f, false, out);
            return fd.dot(w, out);
        });
        Tensor back = fd.output(2, 3, 4, 6), dx = fd.prefilled(2, 3, 4, 6);
        b.rotary(fd.on(w), fd.on(positions), 10000f, true, back);
        b.axpy(1f, back, dx);                                       // as the tape adds it into the gradient
        fd.assertGradient(dx, numeric, "rotary dx");
    }

    /**
     * out [2, 3, 5, 4] = causal linear attention of q, k [2, 3, 5, 3] and v [2, 3, 5, 4]; q and k
     * positive (0.2 + |x|), as the feature maps make them, so the denominators stay away from 0.
     */
    private static void linearAttention(FiniteDifferences fd) {
        Backend b = fd.backend();
        int[] qk = {2, 3, 5, 3}, ve = {2, 3, 5, 4};
        Tensor q = positive(fd.random(qk)), k = positive(fd.random(qk)), v = fd.random(ve), w = fd.random(ve);
        Tensor out = fd.output(ve);
        float eps = 1e-6f;
        double[] numericQ = fd.numericGradient(q, qs -> {
            b.linearAttentionCausal(qs, fd.on(k), fd.on(v), eps, null, null, out);
            return fd.dot(w, out);
        });
        double[] numericK = fd.numericGradient(k, ks -> {
            b.linearAttentionCausal(fd.on(q), ks, fd.on(v), eps, null, null, out);
            return fd.dot(w, out);
        });
        double[] numericV = fd.numericGradient(v, vs -> {
            b.linearAttentionCausal(fd.on(q), fd.on(k), vs, eps, null, null, out);
            return fd.dot(w, out);
        });
        b.linearAttentionCausal(fd.on(q), fd.on(k), fd.on(v), eps, null, null, out);
        Tensor dq = fd.prefilled(qk), dk = fd.prefilled(qk), dv = fd.prefilled(ve);
        b.linearAttentionCausalBackward(fd.on(q), fd.on(k), fd.on(v), eps, out, fd.on(w), dq, dk, dv);
        fd.assertGradient(dq, numericQ, "linear attention dq");
        fd.assertGradient(dk, numericK, "linear attention dk");
        fd.assertGradient(dv, numericV, "linear attention dv");
    }

    /** 0.2 + |x| in place (host input). */
    private static Tensor positive(Tensor x) {
        for (long i = 0; i < x.size(); i++) x.setFloat(i, 0.2f + Math.abs(x.getFloat(i)));
        return x;
    }

    /**
     * C [3, 4] = op(A)·op(B) with dC = W gives dA = W·op(B)ᵀ (stored transposed when A is: op(B)·Wᵀ)
     * and dB = op(A)ᵀ·W (or Wᵀ·op(A)); the backward products accumulate with beta = 1. K = 5.
     */
    private static void matmul(FiniteDifferences fd, boolean ta, boolean tb) {
        Backend b = fd.backend();
        int m = 3, k = 5, n = 4;
        Tensor a = ta ? fd.random(k, m) : fd.random(m, k), bm = tb ? fd.random(n, k) : fd.random(k, n);
        Tensor w = fd.random(m, n), c = fd.output(m, n);
        double[] numericA = fd.numericGradient(a, as -> {
            b.matmul(as, ta, fd.on(bm), tb, c, 1f, 0f);
            return fd.dot(w, c);
        });
        double[] numericB = fd.numericGradient(bm, bs -> {
            b.matmul(fd.on(a), ta, bs, tb, c, 1f, 0f);
            return fd.dot(w, c);
        });

        Tensor dA = fd.prefilled(a.shape()), dB = fd.prefilled(bm.shape());
        Tensor aOn = fd.on(a), bOn = fd.on(bm), dC = fd.on(w);
        if (ta) b.matmul(bOn, tb, dC, true, dA, 1f, 1f);
        else b.matmul(dC, false, bOn, !tb, dA, 1f, 1f);
        if (tb) b.matmul(dC, true, aOn, ta, dB, 1f, 1f);
        else b.matmul(aOn, !ta, dC, false, dB, 1f, 1f);
        fd.assertGradient(dA, numericA, "matmul dA");
        fd.assertGradient(dB, numericB, "matmul dB");
    }

    /** x, out, dx [40], x kept at least 0.05 from the kink at 0 (steps are 1e-2). */
    private static void relu(FiniteDifferences fd) {
        Backend b = fd.backend();
        Tensor x = fd.random(40), w = fd.random(40), out = fd.output(40);
        for (int i = 0; i < 40; i++) x.setFloat(i, x.getFloat(i) + Math.copySign(0.05f, x.getFloat(i)));
        double[] numeric = fd.numericGradient(x, xs -> {
            b.relu(xs, out);
            return fd.dot(w, out);
        });
        Tensor dx = fd.prefilled(40);
        b.reluBackward(fd.on(x), fd.on(w), dx);
        fd.assertGradient(dx, numeric, "relu dx");
    }

    /** out [4, 3] = Σ weights[m]·src[m] at rows [5] (row 1 twice, row 2 never). */
    private static void scatterAddRows(FiniteDifferences fd) {
        Backend b = fd.backend();
        Tensor src = fd.random(5, 3), weights = fd.random(5), w = fd.random(4, 3), out = fd.output(4, 3);
        Tensor rows = fd.ints(1, 0, 3, 1, 0);
        double[] numericSrc = fd.numericGradient(src, ss -> {
            b.fill(out, 0f);
            b.scatterAddRows(ss, fd.on(weights), fd.on(rows), out);
            return fd.dot(w, out);
        });
        double[] numericWeights = fd.numericGradient(weights, ws -> {
            b.fill(out, 0f);
            b.scatterAddRows(fd.on(src), ws, fd.on(rows), out);
            return fd.dot(w, out);
        });
        Tensor dSrc = fd.prefilled(5, 3), dWeights = fd.prefilled(5);
        b.scatterAddRowsBackward(fd.on(w), fd.on(src), fd.on(weights), fd.on(rows), dSrc, dWeights);
        fd.assertGradient(dSrc, numericSrc, "scatterAddRows dSrc");
        fd.assertGradient(dWeights, numericWeights, "scatterAddRows dWeights");
    }

    /** out [4, 2] = x / (Σ_k x + 1e-9) for positive x. */
    private static void normalizeRows(FiniteDifferences fd) {
        Backend b = fd.backend();
        Tensor x = fd.random(4, 2), w = fd.random(4, 2), out = fd.output(4, 2);
        for (int i = 0; i < x.size(); i++) x.setFloat(i, 0.3f + 0.5f * Math.abs(x.getFloat(i)));
        double[] numeric = fd.numericGradient(x, xs -> {
            b.normalizeRows(xs, 1e-9f, out);
            return fd.dot(w, out);
        });
        b.normalizeRows(fd.on(x), 1e-9f, out);
        Tensor dx = fd.prefilled(4, 2);
        b.normalizeRowsBackward(fd.on(x), out, fd.on(w), 1e-9f, dx);
        fd.assertGradient(dx, numeric, "normalizeRows dx");
    }
}
