package org.gptneo.backend;

import java.lang.foreign.Arena;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * {@link Backend#attention} and its backward built from a backend's own kernels: the scores and
 * probabilities [B, H, T, S] are materialised in a scratch arena that is freed before returning.
 * This is the readable definition a fused kernel must agree with, and what a backend without a
 * fused kernel runs. It keeps nothing between forward and backward: the backward recomputes the
 * probabilities (one more q·kᵀ product), so the row statistics tensor is left untouched.
 */
public final class ComposedAttention {
    private ComposedAttention() {}

    /** out = dropout(softmax(mask(q·kᵀ)))·v. */
    public static void forward(Backend backend, Tensor q, Tensor k, Tensor v, AttentionMask mask, float dropout, long seed,
                               Tensor out) {
        try (Arena scratch = Arena.ofConfined()) {
            Tensor probs = probabilities(backend, scratch, q, k, mask);                  // [B, H, T, S]
            if (dropout > 0f) {
                Tensor keep = backend.allocate(scratch, DType.F32, probs.shape());
                backend.dropoutMask(keep, dropout, seed);
                backend.mul(probs, keep, probs);
            }
            backend.matmul(probs, false, v, false, out, 1f, 0f);                           // [B, H, T, hs]
        }
    }

    /** Adds the gradients of {@link #forward} into dq, dk and dv (each may be null: not wanted). */
    public static void backward(Backend backend, Tensor q, Tensor k, Tensor v, AttentionMask mask, float dropout, long seed,
                                Tensor dOut, Tensor dq, Tensor dk, Tensor dv) {
        try (Arena scratch = Arena.ofConfined()) {
            Tensor probs = probabilities(backend, scratch, q, k, mask);                  // [B, H, T, S]
            Tensor keep = null;
            if (dropout > 0f) {
                keep = backend.allocate(scratch, DType.F32, probs.shape());
                backend.dropoutMask(keep, dropout, seed);
            }
            if (dv != null) {
                Tensor dropped = probs;
                if (keep != null) {
                    dropped = backend.allocate(scratch, DType.F32, probs.shape());
                    backend.mul(probs, keep, dropped);
                }
                backend.matmul(dropped, true, dOut, false, dv, 1f, 1f);                  // dv += Pᵀ·dOut
            }
            if (dq == null && dk == null) return;
            Tensor dProbs = backend.allocate(scratch, DType.F32, probs.shape());
            backend.matmul(dOut, false, v, true, dProbs, 1f, 0f);                         // dP = dOut·vᵀ
            if (keep != null) backend.mul(dProbs, keep, dProbs);
            Tensor dScores = backend.allocate(scratch, DType.F32, probs.shape());
            backend.softmaxBackward(probs, dProbs, dScores);
            if (dq != null) backend.matmul(dScores, false, k, false, dq, 1f, 1f);         // dq += dS·k
            if (dk != null) backend.matmul(dScores, true, q, false, dk, 1f, 1f);          // dk += dSᵀ·q
        }
    }

    private static Tensor probabilities(Backend backend, Arena scratch, Tensor q, Tensor k, AttentionMask mask) {
        Tensor scores = backend.allocate(scratch, DType.F32, q.dim(0), q.dim(1), q.dim(2), k.dim(2));
        backend.matmul(q, false, k, true, scores, 1f, 0f);                                // [B, H, T, S], no 1/√d
        Tensor probs = backend.allocate(scratch, DType.F32, scores.shape());
        backend.maskedSoftmax(scores, mask, probs);
        return probs;
    }
}
