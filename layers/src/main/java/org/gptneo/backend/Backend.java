package org.gptneo.backend;

import java.lang.foreign.Arena;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Device;
import org.gptneo.tensor.Tensor;

/**
 * Every kernel the model needs, forward and backward. Tensors are F32 and contiguous unless a
 * parameter says otherwise (token ids and targets are I32). Shapes use B batch, T time, C channels,
 * V vocabulary, N = B·T rows.
 *
 * <p>Conventions: a forward kernel overwrites its output; a backward kernel <b>adds</b> into its
 * gradient outputs (a tensor used twice, like the tied embedding, collects both contributions).
 * Implementations register through {@link BackendProvider} and {@link java.util.ServiceLoader}.
 *
 * <p>Memory: a backend computes on tensors of its {@link #device()}. Data crosses to and from the
 * host only through {@link #upload} and {@link #download}, which are free (the same tensor) for a
 * backend that computes in host memory. Kernels that answer with a number ({@link #sum},
 * {@link #firstOutOfRange}) synchronise a device; the training path uses the ones that leave their
 * result in a tensor ({@link #addSumOfSquares}, {@link #crossEntropyMean}).
 *
 * <p>A backend is made per device by {@link BackendProvider#create(int)}, may own threads or device
 * state, and is closed when no longer used.
 */
public interface Backend extends AutoCloseable {

    /** A short name ("cpu", "reference", "cuda"). */
    String name();

    /** The device whose memory this backend computes on. */
    default Device device() {
        return Device.HOST;
    }

    /** A zero-filled tensor in this backend's memory, owned by {@code arena}. */
    default Tensor allocate(Arena arena, DType dtype, int... shape) {
        return Tensor.allocate(arena, dtype, shape);
    }

    /**
     * {@code host} in this backend's memory: the same tensor when this backend computes in host
     * memory (no copy; it lives as long as {@code host}), else a copy owned by {@code arena}.
     */
    default Tensor upload(Tensor host, Arena arena) {
        if (!host.isHostAccessible()) {
            throw new IllegalArgumentException("upload takes a host tensor, got " + host);
        }
        return host;
    }

    /**
     * {@code t} (a tensor of this backend, dense or strided) in host memory: the same tensor when it
     * is host-accessible, else a dense copy owned by {@code arena}.
     */
    default Tensor download(Tensor t, Arena arena) {
        if (!t.isHostAccessible()) {
            throw new IllegalArgumentException(name() + " cannot download " + t + ": not one of its tensors");
        }
        return t;
    }

    /**
     * Waits until every kernel queued so far has finished (a GPU computes asynchronously; timing
     * code calls this before reading the clock). Free for a backend whose kernels return when done.
     */
    default void synchronize() {}

    /**
     * A backend for this machine: CUDA when a usable GPU is present, else the CPU (see
     * {@link Backends#defaultBackend()}; the system property {@code gptneo.backend} overrides the
     * choice). The caller owns it and closes it.
     */
    static Backend auto() {
        return Backends.defaultBackend();
    }

    /** Releases the backend's threads or device state; its tensors must no longer be used. */
    @Override
    default void close() {}

    // ---- matrix products -------------------------------------------------------------------

    /**
     * C = alpha·op(A)·op(B) + beta·C over the last two dimensions, where op(X) is X or Xᵀ.
     * A [..., M, K] (or [..., K, M] when transposed), B [..., K, N] (or [..., N, K]), C [..., M, N].
     * Leading dimensions are batch dimensions and must match C's; A or B may instead be rank 2 and
     * is then shared by every batch entry. With beta = 0, C's old contents are ignored (even NaN).
     * A and B may be stored in BF16, F16 or Q8 (weights kept in less precision for inference): they are
     * widened exactly and the product is computed in F32. C is F32.
     */
    void matmul(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor c, float alpha, float beta);

    // ---- elementwise -------------------------------------------------------------------------

    void fill(Tensor t, float value);

    /**
     * dst = src (same element count; F32, or I32 into I32). Either may be a strided view ({@link Tensor#slice}) whose last
     * dimension is dense; both then need the same shape. This is how a KV cache appends in place.
     */
    void copy(Tensor src, Tensor dst);

    /** out = a + b (same element count; out may alias a or b). */
    void add(Tensor a, Tensor b, Tensor out);

    /** out = a ⊙ b (same element count; out may alias a or b). */
    void mul(Tensor a, Tensor b, Tensor out);

    /** y += alpha·x. */
    void axpy(float alpha, Tensor x, Tensor y);

    /** t *= s. */
    void scale(Tensor t, float s);

    /** Σ x², accumulated in double (for gradient-norm clipping). */
    double sumOfSquares(Tensor x);

    /** Σ x, accumulated in double. */
    double sum(Tensor x);

    /** out [1] += Σ x², accumulated in double: a gradient norm that stays on the device. */
    void addSumOfSquares(Tensor x, Tensor out);

    // ---- indices -----------------------------------------------------------------------------

    /** out (I32 [..., T]) = 0, 1, …, T − 1 in every row: the positions of a batch without a cache. */
    void iota(Tensor out);

    /** quotient = x / divisor and remainder = x % divisor, element by element (I32, x ≥ 0, divisor ≥ 1). */
    void divMod(Tensor x, int divisor, Tensor quotient, Tensor remainder);

    /**
     * targets [B·T] (I32) = labels [B, T] shifted left by one in each row, {@code fill} in each last
     * column: position t of the logits predicts label t + 1.
     */
    void shiftLeft(Tensor labels, int fill, Tensor targets);

    /**
     * The row-major index of the first element of I32 {@code ids} outside [lo, hi) that is not
     * {@code allowed}, or −1 when there is none (input validation; one number crosses to the host).
     */
    long firstOutOfRange(Tensor ids, int lo, int hi, int allowed);

    /** x [N, C] += bias [C] on every row. */
    void addBias(Tensor x, Tensor bias);

    /** dBias [C] += Σ over rows of dy [N, C]. */
    void addBiasBackward(Tensor dy, Tensor dBias);

    /** out [A, C, B, D] = x [A, B, C, D] with the middle two dimensions swapped; adds into out when accumulate. */
    void swapMiddle(Tensor x, Tensor out, boolean accumulate);

    // ---- layers ------------------------------------------------------------------------------

    /**
     * LayerNorm over the last dimension: out = (x − μ)/√(σ² + eps)·gamma + beta with the biased
     * variance. x, out [N, C]; gamma, beta [C]; saves mean [N] and rstd [N] = 1/√(σ² + eps).
     */
    void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out, Tensor mean, Tensor rstd);

    /** Adds the gradients of {@link #layerNorm} into dx [N, C], dGamma [C] and dBeta [C]. */
    void layerNormBackward(Tensor dOut, Tensor x, Tensor gamma, Tensor mean, Tensor rstd,
                           Tensor dx, Tensor dGamma, Tensor dBeta);

    /**
     * Rotary positions, "rotate half" over the whole head: for x, out [B, H, T, hs] (hs even) and
     * positions [B·T] (I32), with θ_k = position · base^(−2k/hs) for k &lt; hs/2,
     * out[k] = x[k]·cos θ_k − x[k + hs/2]·sin θ_k and out[k + hs/2] = x[k + hs/2]·cos θ_k + x[k]·sin θ_k.
     * With {@code inverse} it rotates by −θ (the transpose: the backward of the forward rotation).
     * Angles and their sines are computed in double.
     */
    void rotary(Tensor x, Tensor positions, float base, boolean inverse, Tensor out);

    /** out = exp(x), element by element (same element count): the key feature map of causal linear attention. */
    void exp(Tensor x, Tensor out);

    /**
     * Causal linear attention over feature-mapped queries and keys, streaming its prefix sums: for
     * q, k [B, H, T, d] (positive features), v [B, H, T, e] and out [B, H, T, e], per (batch, head)
     * with S = Σ_{m≤n} k[m]ᵀ·v[m] [d, e] and z = Σ_{m≤n} k[m] [d] running over the tokens n,
     * out[n] = (q[n]·S) / (q[n]·(z + eps)). {@code state} [B, H, d, e] and {@code normaliser} [B, H, d]
     * hold S and z of earlier tokens on entry and of all tokens on exit (a generation state); both
     * null start from nothing and keep nothing (a training pass). Memory: O(d·e) per (batch, head)
     * beyond the inputs, never one S per token.
     */
    void linearAttentionCausal(Tensor q, Tensor k, Tensor v, float eps, Tensor state, Tensor normaliser, Tensor out);

    /**
     * Adds the gradients of {@link #linearAttentionCausal} (started from no state) into dq, dk [B, H, T, d]
     * and dv [B, H, T, e], given its output {@code out} and dOut [B, H, T, e]. Streams as the forward
     * does: one pass over the tokens recomputes the prefix sums for dq, one reverse pass keeps the
     * suffix sums that dk and dv need.
     */
    void linearAttentionCausalBackward(Tensor q, Tensor k, Tensor v, float eps, Tensor out, Tensor dOut,
                                       Tensor dq, Tensor dk, Tensor dv);

    /** out = gelu_new(x) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
    void geluNew(Tensor x, Tensor out);

    /** dx += gelu_new′(x)·dOut. */
    void geluNewBackward(Tensor x, Tensor dOut, Tensor dx);

    /**
     * probs = softmax over the last dimension of scores [..., T, S] after hidden positions (see
     * {@link AttentionMask}) are replaced by the float32 minimum. Computed in float32 with the row
     * maximum subtracted.
     */
    void maskedSoftmax(Tensor scores, AttentionMask mask, Tensor probs);

    /** dScores += probs ⊙ (dProbs − Σ_j probs·dProbs) row by row (masked entries have probs 0). */
    void softmaxBackward(Tensor probs, Tensor dProbs, Tensor dScores);

    /**
     * Softmax attention in one call, GPT-Neo's way: out [B, H, T, hs] = dropout(softmax(mask(q·kᵀ)))·v
     * for q [B, H, T, hs] and k, v [B, H, S, hs], with no 1/√hs scaling. k and v may be views whose
     * last dimension is dense (a KV cache's filled slots). The probabilities are exactly those of
     * {@link #maskedSoftmax} (hidden scores become the float32 minimum, so a row with no visible key is
     * uniform over all S keys); with {@code dropout} p &gt; 0 the probability at flat index i of
     * [B, H, T, S] is scaled by the factor {@link #dropoutMask} would draw for (seed, i).
     *
     * <p>{@code rowStats} [B, H, T] (F32) receives what this backend's {@link #attentionBackward}
     * needs besides the inputs (a fused kernel keeps each row's log-sum-exp there, never the T × S
     * probabilities). Its contents are this backend's own business: only its backward reads them.
     * The default composes {@link #matmul}, {@link #maskedSoftmax} and {@link #dropoutMask}
     * ({@link ComposedAttention}); backends override it with a fused kernel.
     */
    default void attention(Tensor q, Tensor k, Tensor v, AttentionMask mask, float dropout, long seed,
                           Tensor out, Tensor rowStats) {
        ComposedAttention.forward(this, q, k, v, mask, dropout, seed, out);
    }

    /**
     * Adds the gradients of {@link #attention} into dq [B, H, T, hs], dk and dv [B, H, S, hs], given
     * its inputs, its output {@code out}, the {@code rowStats} it wrote and dOut [B, H, T, hs]. Gradients
     * are dense; one that is not wanted is null. The gradient through a row with no visible key is that
     * of a softmax over S equal scores, as {@link #softmaxBackward} gives it.
     */
    default void attentionBackward(Tensor q, Tensor k, Tensor v, AttentionMask mask, float dropout, long seed,
                                   Tensor out, Tensor rowStats, Tensor dOut, Tensor dq, Tensor dk, Tensor dv) {
        ComposedAttention.backward(this, q, k, v, mask, dropout, seed, dOut, dq, dk, dv);
    }

    /** out [N, C] = table [V, C] (F32, BF16, F16 or Q8) rows picked by ids [N] (I32, each in [0, V)), as F32. */
    void embedding(Tensor table, Tensor ids, Tensor out);

    /** dTable [V, C] += dOut [N, C] scattered to the rows named by ids [N]. */
    void embeddingBackward(Tensor ids, Tensor dOut, Tensor dTable);

    /**
     * losses [N] = logsumexp(logits[n]) − logits[n, target[n]] for logits [N, V] and targets [N] (I32);
     * 0 where the target equals ignoreIndex.
     */
    void crossEntropy(Tensor logits, Tensor targets, int ignoreIndex, Tensor losses);

    /** dLogits [N, V] += scale·(softmax(logits[n]) − onehot(target[n])) for every row not ignored. */
    void crossEntropyBackward(Tensor logits, Tensor targets, int ignoreIndex, float scale, Tensor dLogits);

    /**
     * out [1] = the mean of {@link #crossEntropy} over the rows whose target is not ignored (summed in
     * double, then divided by their count); NaN when every target is ignored, as in PyTorch.
     */
    void crossEntropyMean(Tensor logits, Tensor targets, int ignoreIndex, Tensor out);

    /** The backward of {@link #crossEntropyMean}: {@link #crossEntropyBackward} with scale dOut[0] / count. */
    void crossEntropyMeanBackward(Tensor logits, Tensor targets, int ignoreIndex, Tensor dOut, Tensor dLogits);

    /**
     * Fills mask with 0 (probability p) or 1/(1 − p), reproducibly: element i depends only on
     * (seed, i), never on threading or backend.
     */
    void dropoutMask(Tensor mask, float p, long seed);

    // ---- mixture of experts ------------------------------------------------------------------

    /** out = max(x, 0) (an expert's activation; NaN stays NaN). */
    void relu(Tensor x, Tensor out);

    /** dx += dOut where x &gt; 0. */
    void reluBackward(Tensor x, Tensor dOut, Tensor dx);

    /**
     * The combine step of a mixture of experts: for m = 0, 1, …, out[rows[m]] += weights[m]·src[m], with
     * src [M, C], weights [M], rows [M] (I32, each in [0, R), repeats allowed) and out [R, C]. Each
     * element of out adds its terms in order of m, the product rounded before the sum.
     */
    void scatterAddRows(Tensor src, Tensor weights, Tensor rows, Tensor out);

    /**
     * The backward of {@link #scatterAddRows} for dOut [R, C]: dSrc[m] += weights[m]·dOut[rows[m]] and
     * dWeights[m] += Σ_c dOut[rows[m], c]·src[m, c].
     */
    void scatterAddRowsBackward(Tensor dOut, Tensor src, Tensor weights, Tensor rows, Tensor dSrc, Tensor dWeights);

    /**
     * out [N, K] = x[n, k] / (Σ_j x[n, j] + eps) row by row, the sum in float32 in order of j: the
     * renormalised top-k gate weights.
     */
    void normalizeRows(Tensor x, float eps, Tensor out);

    /** dx [N, K] += (dOut[n, k] − Σ_j dOut[n, j]·out[n, j]) / (Σ_j x[n, j] + eps): the backward of {@link #normalizeRows}. */
    void normalizeRowsBackward(Tensor x, Tensor out, Tensor dOut, float eps, Tensor dx);

    // ---- optimizer ---------------------------------------------------------------------------

    /**
     * One AdamW step as torch.optim.AdamW computes it (decoupled weight decay, bias correction):
     * p ← p·(1 − lr·wd); m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²;
     * p ← p − (lr / (1 − β1^t))·m / (√v / √(1 − β2^t) + eps), t = step ≥ 1.
     */
    void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step);
}
