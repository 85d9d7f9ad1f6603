package org.gptneo.backend.cpu;

import org.gptneo.backend.AdamWStep;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.Tensor;

/**
 * The fast CPU backend: Vector API loops straight over the tensors' memory, spread over all cores
 * when a kernel is big enough (see {@link CpuParallel}). Each kernel lives in a small class by
 * concern; {@link ReferenceBackend} is the scalar definition they are tested against. Stateless and
 * thread-safe.
 */
public final class CpuBackend implements Backend {

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public void matmul(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor c, float alpha, float beta) {
        CpuMatmul.multiply(a, transposeA, b, transposeB, c, alpha, beta);
    }

    @Override
    public void fill(Tensor t, float value) {
        CpuElementwise.fill(t, value);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        CpuElementwise.copy(src, dst);
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        CpuElementwise.add(a, b, out);
    }

    @Override
    public void mul(Tensor a, Tensor b, Tensor out) {
        CpuElementwise.mul(a, b, out);
    }

    @Override
    public void axpy(float alpha, Tensor x, Tensor y) {
        CpuElementwise.axpy(alpha, x, y);
    }

    @Override
    public void scale(Tensor t, float s) {
        CpuElementwise.scale(t, s);
    }

    @Override
    public double sumOfSquares(Tensor x) {
        return CpuElementwise.sumOfSquares(x);
    }

    @Override
    public double sum(Tensor x) {
        return CpuElementwise.sum(x);
    }

    @Override
    public void addBias(Tensor x, Tensor bias) {
        CpuElementwise.addBias(x, bias);
    }

    @Override
    public void addBiasBackward(Tensor dy, Tensor dBias) {
        CpuElementwise.addBiasBackward(dy, dBias);
    }

    @Override
    public void swapMiddle(Tensor x, Tensor out, boolean accumulate) {
        CpuElementwise.swapMiddle(x, out, accumulate);
    }

    @Override
    public void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out, Tensor mean, Tensor rstd) {
        CpuNormKernels.layerNorm(x, gamma, beta, eps, out, mean, rstd);
    }

    @Override
    public void layerNormBackward(Tensor dOut, Tensor x, Tensor gamma, Tensor mean, Tensor rstd,
                                  Tensor dx, Tensor dGamma, Tensor dBeta) {
        CpuNormKernels.layerNormBackward(dOut, x, gamma, mean, rstd, dx, dGamma, dBeta);
    }

    @Override
    public void geluNew(Tensor x, Tensor out) {
        CpuActivationKernels.geluNew(x, out);
    }

    @Override
    public void geluNewBackward(Tensor x, Tensor dOut, Tensor dx) {
        CpuActivationKernels.geluNewBackward(x, dOut, dx);
    }

    @Override
    public void maskedSoftmax(Tensor scores, AttentionMask mask, Tensor probs) {
        CpuAttentionKernels.maskedSoftmax(scores, mask, probs);
    }

    @Override
    public void softmaxBackward(Tensor probs, Tensor dProbs, Tensor dScores) {
        CpuAttentionKernels.softmaxBackward(probs, dProbs, dScores);
    }

    @Override
    public void embedding(Tensor table, Tensor ids, Tensor out) {
        CpuEmbeddingKernels.embedding(table, ids, out);
    }

    @Override
    public void embeddingBackward(Tensor ids, Tensor dOut, Tensor dTable) {
        CpuEmbeddingKernels.embeddingBackward(ids, dOut, dTable);
    }

    @Override
    public void crossEntropy(Tensor logits, Tensor targets, int ignoreIndex, Tensor losses) {
        CpuLossKernels.crossEntropy(logits, targets, ignoreIndex, losses);
    }

    @Override
    public void crossEntropyBackward(Tensor logits, Tensor targets, int ignoreIndex, float scale, Tensor dLogits) {
        CpuLossKernels.crossEntropyBackward(logits, targets, ignoreIndex, scale, dLogits);
    }

    @Override
    public void dropoutMask(Tensor mask, float p, long seed) {
        CpuElementwise.dropoutMask(mask, p, seed);
    }

    @Override
    public void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step) {
        CpuOptimizerKernels.adamW(param, grad, m, v, step);
    }
}
