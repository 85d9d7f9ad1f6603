package org.gptneo.backend.cpu;

import java.lang.foreign.Arena;
import org.gptneo.tensor.DType;
import org.gptneo.backend.AdamWStep;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.Tensor;

/**
 * The fast CPU backend: Vector API loops straight over the tensors' memory (host memory: upload and
 * download are free), spread over its own thread pool when a kernel is big enough (see
 * {@link CpuParallel}). Each kernel lives in a small class by concern; the conformance kit's
 * ReferenceBackend is the scalar definition they are tested against. Thread-safe; {@link #close()}
 * stops the pool.
 */
public final class CpuBackend implements Backend {
    private final CpuParallel pool;

    /** A backend on all available cores. */
    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    /** A backend whose kernels use {@code threads} threads, the caller's included. */
    public CpuBackend(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("a CPU backend needs at least one thread, got " + threads);
        }
        VectorApi.require();
        this.pool = new CpuParallel(threads);
    }

    /** Threads that work on one kernel, the caller's included. */
    public int threads() {
        return pool.threads();
    }

    @Override
    public void close() {
        pool.close();
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public void matmul(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor c, float alpha, float beta) {
        CpuMatmul.multiply(pool, a, transposeA, b, transposeB, c, alpha, beta);
    }

    @Override
    public void fill(Tensor t, float value) {
        CpuElementwise.fill(pool, t, value);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        CpuElementwise.copy(pool, src, dst);
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        CpuElementwise.add(pool, a, b, out);
    }

    @Override
    public void mul(Tensor a, Tensor b, Tensor out) {
        CpuElementwise.mul(pool, a, b, out);
    }

    @Override
    public void axpy(float alpha, Tensor x, Tensor y) {
        CpuElementwise.axpy(pool, alpha, x, y);
    }

    @Override
    public void scale(Tensor t, float s) {
        CpuElementwise.scale(pool, t, s);
    }

    @Override
    public double sumOfSquares(Tensor x) {
        return CpuElementwise.sumOfSquares(pool, x);
    }

    @Override
    public double sum(Tensor x) {
        return CpuElementwise.sum(pool, x);
    }

    @Override
    public void addSumOfSquares(Tensor x, Tensor out) {
        out.setFloat(0, (float) (out.getFloat(0) + CpuElementwise.sumOfSquares(pool, x)));
    }

    @Override
    public void iota(Tensor out) {
        CpuIndexKernels.iota(out);
    }

    @Override
    public void divMod(Tensor x, int divisor, Tensor quotient, Tensor remainder) {
        CpuIndexKernels.divMod(x, divisor, quotient, remainder);
    }

    @Override
    public void shiftLeft(Tensor labels, int fill, Tensor targets) {
        CpuIndexKernels.shiftLeft(labels, fill, targets);
    }

    @Override
    public long firstOutOfRange(Tensor ids, int lo, int hi, int allowed) {
        return CpuIndexKernels.firstOutOfRange(ids, lo, hi, allowed);
    }

    @Override
    public void addBias(Tensor x, Tensor bias) {
        CpuElementwise.addBias(pool, x, bias);
    }

    @Override
    public void addBiasBackward(Tensor dy, Tensor dBias) {
        CpuElementwise.addBiasBackward(pool, dy, dBias);
    }

    @Override
    public void swapMiddle(Tensor x, Tensor out, boolean accumulate) {
        CpuElementwise.swapMiddle(pool, x, out, accumulate);
    }

    @Override
    public void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out, Tensor mean, Tensor rstd) {
        CpuNormKernels.layerNorm(pool, x, gamma, beta, eps, out, mean, rstd);
    }

    @Override
    public void layerNormBackward(Tensor dOut, Tensor x, Tensor gamma, Tensor mean, Tensor rstd,
                                  Tensor dx, Tensor dGamma, Tensor dBeta) {
        CpuNormKernels.layerNormBackward(pool, dOut, x, gamma, mean, rstd, dx, dGamma, dBeta);
    }

    @Override
    public void geluNew(Tensor x, Tensor out) {
        CpuActivationKernels.geluNew(pool, x, out);
    }

    @Override
    public void geluNewBackward(Tensor x, Tensor dOut, Tensor dx) {
        CpuActivationKernels.geluNewBackward(pool, x, dOut, dx);
    }

    @Override
    public void exp(Tensor x, Tensor out) {
        CpuActivationKernels.exp(pool, x, out);
    }

    @Override
    public void linearAttentionCausal(Tensor q, Tensor k, Tensor v, float eps, Tensor state, Tensor normaliser, Tensor out) {
        CpuLinearAttentionKernels.causal(pool, q, k, v, eps, state, normaliser, out);
    }

    @Override
    public void linearAttentionCausalBackward(Tensor q, Tensor k, Tensor v, float eps, Tensor out, Tensor dOut,
                                              Tensor dq, Tensor dk, Tensor dv) {
        CpuLinearAttentionKernels.causalBackward(pool, q, k, v, eps, out, dOut, dq, dk, dv);
    }

    @Override
    public void maskedSoftmax(Tensor scores, AttentionMask mask, Tensor probs) {
        CpuAttentionKernels.maskedSoftmax(pool, scores, mask, probs);
    }

    @Override
    public void softmaxBackward(Tensor probs, Tensor dProbs, Tensor dScores) {
        CpuAttentionKernels.softmaxBackward(pool, probs, dProbs, dScores);
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, AttentionMask mask, float dropout, long seed, Tensor out, Tensor rowStats) {
        CpuFusedAttention.forward(pool, q, k, v, mask, dropout, seed, out, rowStats);
    }

    @Override
    public void attentionBackward(Tensor q, Tensor k, Tensor v, AttentionMask mask, float dropout, long seed,
                                  Tensor out, Tensor rowStats, Tensor dOut, Tensor dq, Tensor dk, Tensor dv) {
        CpuFusedAttentionBackward.backward(pool, q, k, v, mask, dropout, seed, out, rowStats, dOut, dq, dk, dv);
    }

    @Override
    public void rotary(Tensor x, Tensor positions, float base, boolean inverse, Tensor out) {
        CpuPositionKernels.rotary(pool, x, positions, base, inverse, out);
    }

    @Override
    public void embedding(Tensor table, Tensor ids, Tensor out) {
        CpuEmbeddingKernels.embedding(pool, table, ids, out);
    }

    @Override
    public void embeddingBackward(Tensor ids, Tensor dOut, Tensor dTable) {
        CpuEmbeddingKernels.embeddingBackward(pool, ids, dOut, dTable);
    }

    @Override
    public void crossEntropy(Tensor logits, Tensor targets, int ignoreIndex, Tensor losses) {
        CpuLossKernels.crossEntropy(pool, logits, targets, ignoreIndex, losses);
    }

    @Override
    public void crossEntropyBackward(Tensor logits, Tensor targets, int ignoreIndex, float scale, Tensor dLogits) {
        CpuLossKernels.crossEntropyBackward(pool, logits, targets, ignoreIndex, scale, dLogits);
    }

    @Override
    public void crossEntropyMean(Tensor logits, Tensor targets, int ignoreIndex, Tensor out) {
        try (Arena scratch = Arena.ofConfined()) {
            Tensor losses = Tensor.allocate(scratch, DType.F32, logits.dim(0));
            CpuLossKernels.crossEntropy(pool, logits, targets, ignoreIndex, losses);
            out.setFloat(0, (float) (CpuElementwise.sum(pool, losses) / CpuIndexKernels.countNot(targets, ignoreIndex)));
        }
    }

    @Override
    public void crossEntropyMeanBackward(Tensor logits, Tensor targets, int ignoreIndex, Tensor dOut, Tensor dLogits) {
        float scale = dOut.getFloat(0) / CpuIndexKernels.countNot(targets, ignoreIndex);
        CpuLossKernels.crossEntropyBackward(pool, logits, targets, ignoreIndex, scale, dLogits);
    }

    @Override
    public void dropoutMask(Tensor mask, float p, long seed) {
        CpuElementwise.dropoutMask(pool, mask, p, seed);
    }

    @Override
    public void relu(Tensor x, Tensor out) {
        CpuReluKernels.relu(pool, x, out);
    }

    @Override
    public void reluBackward(Tensor x, Tensor dOut, Tensor dx) {
        CpuReluKernels.reluBackward(pool, x, dOut, dx);
    }

    @Override
    public void scatterAddRows(Tensor src, Tensor weights, Tensor rows, Tensor out) {
        CpuRoutingKernels.scatterAddRows(pool, src, weights, rows, out);
    }

    @Override
    public void scatterAddRowsBackward(Tensor dOut, Tensor src, Tensor weights, Tensor rows, Tensor dSrc, Tensor dWeights) {
        CpuRoutingKernels.scatterAddRowsBackward(pool, dOut, src, weights, rows, dSrc, dWeights);
    }

    @Override
    public void normalizeRows(Tensor x, float eps, Tensor out) {
        CpuRoutingKernels.normalizeRows(pool, x, eps, out);
    }

    @Override
    public void normalizeRowsBackward(Tensor x, Tensor out, Tensor dOut, float eps, Tensor dx) {
        CpuRoutingKernels.normalizeRowsBackward(pool, x, out, dOut, eps, dx);
    }

    @Override
    public void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step) {
        CpuOptimizerKernels.adamW(pool, param, grad, m, v, step);
    }
}
