package org.gptneo.backend.conformance;

import java.lang.foreign.Arena;
import org.gptneo.backend.AdamWStep;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Device;
import org.gptneo.tensor.Tensor;

/**
 * A backend whose tensors the host may not touch, as a GPU's: every host accessor on them throws,
 * and data crosses only through {@link #upload} and {@link #download}, which copy. Its kernels run
 * the CPU kernels on the same memory (it is off-heap host memory underneath), and every kernel
 * refuses a host tensor, so code that forgets an upload fails here instead of on a GPU.
 */
public final class OffHostBackend implements Backend {
    /** The pretend device. */
    public static final Device DEVICE = new Device("offhost", 0, false);

    private final CpuBackend cpu = new CpuBackend();

    @Override
    public String name() {
        return "offhost";
    }

    @Override
    public Device device() {
        return DEVICE;
    }

    @Override
    public Tensor allocate(Arena arena, DType dtype, int... shape) {
        return Tensor.allocate(arena, dtype, shape).viewOn(DEVICE);
    }

    @Override
    public Tensor upload(Tensor host, Arena arena) {
        if (!host.isHostAccessible()) {
            throw new IllegalArgumentException("upload takes a host tensor, got " + host);
        }
        Tensor copy = Tensor.allocate(arena, host.dtype(), host.shape());
        copy.copyFrom(host);
        return copy.viewOn(DEVICE);
    }

    @Override
    public Tensor download(Tensor t, Arena arena) {
        Tensor copy = Tensor.allocate(arena, t.dtype(), t.shape());
        copy.copyFrom(h(t));
        return copy;
    }

    @Override
    public void close() {
        cpu.close();
    }

    /** The host view of one of this backend's tensors, for the CPU kernels. */
    private static Tensor h(Tensor t) {
        if (!t.device().equals(DEVICE)) {
            throw new IllegalArgumentException("the offhost backend got " + t + ", not one of its tensors (missing upload?)");
        }
        return t.viewOn(Device.HOST);
    }

    @Override
    public void matmul(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor c, float alpha, float beta) {
        cpu.matmul(h(a), transposeA, h(b), transposeB, h(c), alpha, beta);
    }

    @Override
    public void fill(Tensor t, float value) {
        cpu.fill(h(t), value);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        cpu.copy(h(src), h(dst));
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        cpu.add(h(a), h(b), h(out));
    }

    @Override
    public void mul(Tensor a, Tensor b, Tensor out) {
        cpu.mul(h(a), h(b), h(out));
    }

    @Override
    public void axpy(float alpha, Tensor x, Tensor y) {
        cpu.axpy(alpha, h(x), h(y));
    }

    @Override
    public void scale(Tensor t, float s) {
        cpu.scale(h(t), s);
    }

    @Override
    public double sumOfSquares(Tensor x) {
        return cpu.sumOfSquares(h(x));
    }

    @Override
    public double sum(Tensor x) {
        return cpu.sum(h(x));
    }

    @Override
    public void addSumOfSquares(Tensor x, Tensor out) {
        cpu.addSumOfSquares(h(x), h(out));
    }

    @Override
    public void iota(Tensor out) {
        cpu.iota(h(out));
    }

    @Override
    public void divMod(Tensor x, int divisor, Tensor quotient, Tensor remainder) {
        cpu.divMod(h(x), divisor, h(quotient), h(remainder));
    }

    @Override
    public void shiftLeft(Tensor labels, int fill, Tensor targets) {
        cpu.shiftLeft(h(labels), fill, h(targets));
    }

    @Override
    public long firstOutOfRange(Tensor ids, int lo, int hi, int allowed) {
        return cpu.firstOutOfRange(h(ids), lo, hi, allowed);
    }

    @Override
    public void addBias(Tensor x, Tensor bias) {
        cpu.addBias(h(x), h(bias));
    }

    @Override
    public void addBiasBackward(Tensor dy, Tensor dBias) {
        cpu.addBiasBackward(h(dy), h(dBias));
    }

    @Override
    public void swapMiddle(Tensor x, Tensor out, boolean accumulate) {
        cpu.swapMiddle(h(x), h(out), accumulate);
    }

    @Override
    public void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out, Tensor mean, Tensor rstd) {
        cpu.layerNorm(h(x), h(gamma), h(beta), eps, h(out), h(mean), h(rstd));
    }

    @Override
    public void layerNormBackward(Tensor dOut, Tensor x, Tensor gamma, Tensor mean, Tensor rstd,
                                  Tensor dx, Tensor dGamma, Tensor dBeta) {
        cpu.layerNormBackward(h(dOut), h(x), h(gamma), h(mean), h(rstd), h(dx), h(dGamma), h(dBeta));
    }

    @Override
    public void rotary(Tensor x, Tensor positions, float base, boolean inverse, Tensor out) {
        cpu.rotary(h(x), h(positions), base, inverse, h(out));
    }

    @Override
    public void geluNew(Tensor x, Tensor out) {
        cpu.geluNew(h(x), h(out));
    }

    @Override
    public void geluNewBackward(Tensor x, Tensor dOut, Tensor dx) {
        cpu.geluNewBackward(h(x), h(dOut), h(dx));
    }

    @Override
    public void exp(Tensor x, Tensor out) {
        cpu.exp(h(x), h(out));
    }

    @Override
    public void linearAttentionCausal(Tensor q, Tensor k, Tensor v, float eps, Tensor state, Tensor normaliser, Tensor out) {
        cpu.linearAttentionCausal(h(q), h(k), h(v), eps, state == null ? null : h(state),
                normaliser == null ? null : h(normaliser), h(out));
    }

    @Override
    public void linearAttentionCausalBackward(Tensor q, Tensor k, Tensor v, float eps, Tensor out, Tensor dOut,
                                              Tensor dq, Tensor dk, Tensor dv) {
        cpu.linearAttentionCausalBackward(h(q), h(k), h(v), eps, h(out), h(dOut), h(dq), h(dk), h(dv));
    }

    @Override
    public void maskedSoftmax(Tensor scores, AttentionMask mask, Tensor probs) {
        cpu.maskedSoftmax(h(scores), mask, h(probs));
    }

    @Override
    public void softmaxBackward(Tensor probs, Tensor dProbs, Tensor dScores) {
        cpu.softmaxBackward(h(probs), h(dProbs), h(dScores));
    }

    @Override
    public void embedding(Tensor table, Tensor ids, Tensor out) {
        cpu.embedding(h(table), h(ids), h(out));
    }

    @Override
    public void embeddingBackward(Tensor ids, Tensor dOut, Tensor dTable) {
        cpu.embeddingBackward(h(ids), h(dOut), h(dTable));
    }

    @Override
    public void crossEntropy(Tensor logits, Tensor targets, int ignoreIndex, Tensor losses) {
        cpu.crossEntropy(h(logits), h(targets), ignoreIndex, h(losses));
    }

    @Override
    public void crossEntropyBackward(Tensor logits, Tensor targets, int ignoreIndex, float scale, Tensor dLogits) {
        cpu.crossEntropyBackward(h(logits), h(targets), ignoreIndex, scale, h(dLogits));
    }

    @Override
    public void crossEntropyMean(Tensor logits, Tensor targets, int ignoreIndex, Tensor out) {
        cpu.crossEntropyMean(h(logits), h(targets), ignoreIndex, h(out));
    }

    @Override
    public void crossEntropyMeanBackward(Tensor logits, Tensor targets, int ignoreIndex, Tensor dOut, Tensor dLogits) {
        cpu.crossEntropyMeanBackward(h(logits), h(targets), ignoreIndex, h(dOut), h(dLogits));
    }

    @Override
    public void dropoutMask(Tensor mask, float p, long seed) {
        cpu.dropoutMask(h(mask), p, seed);
    }

    @Override
    public void relu(Tensor x, Tensor out) {
        cpu.relu(h(x), h(out));
    }

    @Override
    public void reluBackward(Tensor x, Tensor dOut, Tensor dx) {
        cpu.reluBackward(h(x), h(dOut), h(dx));
    }

    @Override
    public void scatterAddRows(Tensor src, Tensor weights, Tensor rows, Tensor out) {
        cpu.scatterAddRows(h(src), h(weights), h(rows), h(out));
    }

    @Override
    public void scatterAddRowsBackward(Tensor dOut, Tensor src, Tensor weights, Tensor rows, Tensor dSrc, Tensor dWeights) {
        cpu.scatterAddRowsBackward(h(dOut), h(src), h(weights), h(rows), h(dSrc), h(dWeights));
    }

    @Override
    public void normalizeRows(Tensor x, float eps, Tensor out) {
        cpu.normalizeRows(h(x), eps, h(out));
    }

    @Override
    public void normalizeRowsBackward(Tensor x, Tensor out, Tensor dOut, float eps, Tensor dx) {
        cpu.normalizeRowsBackward(h(x), h(out), h(dOut), eps, h(dx));
    }

    @Override
    public void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step) {
        cpu.adamW(h(param), h(grad), h(m), h(v), step);
    }
}
