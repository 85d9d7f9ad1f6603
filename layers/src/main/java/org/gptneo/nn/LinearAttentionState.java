package org.gptneo.nn;

import java.lang.foreign.Arena;
import java.util.Arrays;
import org.gptneo.autograd.Tape;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * A causal linear attention layer's generation state: the running sums S = Σ k̃ᵀ·v [B, H, hs, hs] and
 * z = Σ k̃ [B, H, hs] of the tokens so far, on the backend. Each step continues them in place with
 * its T new tokens (a prompt or one token): O(1) per token whatever the length, and the same
 * outputs as the parallel form. Left padding (the first {@code padding[b]} tokens of row b) adds
 * nothing to the sums; those tokens' own outputs are 0. Not thread-safe: one per layer and generation.
 */
public final class LinearAttentionState implements LayerState {
    private final Backend backend;
    private final int[] padding;
    private final Tensor sums;          // S [B, H, hs, hs]
    private final Tensor normaliser;    // z [B, H, hs]
    private int seen;                   // tokens per row so far, padding included

    LinearAttentionState(Backend backend, Arena arena, int batch, int heads, int headSize, int[] padding) {
        if (padding == null || padding.length != batch) {
            throw new IllegalArgumentException("padding needs one count per row of a batch of " + batch + ", got "
                    + (padding == null ? "null" : Arrays.toString(padding)));
        }
        this.backend = backend;
        this.padding = padding.clone();
        this.sums = backend.allocate(arena, DType.F32, batch, heads, headSize, headSize);
        this.normaliser = backend.allocate(arena, DType.F32, batch, heads, headSize);
    }

    /** Tokens per row consumed so far, padding included. */
    public int tokens() {
        return seen;
    }

    /**
     * Outputs [B, H, T, hs] for the new tokens' q̂, k̃ and v [B, H, T, hs], which join the sums. k̃ is
     * zeroed in place at padding tokens, so that they add nothing.
     */
    Tensor attend(Tape tape, Tensor qHat, Tensor kTilde, Tensor v, float eps) {
        int[] shape = kTilde.shape();
        if (shape[0] != sums.dim(0) || shape[1] != sums.dim(1) || shape[3] != sums.dim(3)) {
            throw new IllegalArgumentException("linear attention state for [B, H, hs] = " + Arrays.toString(normaliser.shape())
                    + " got keys " + kTilde);
        }
        int t = shape[2];
        for (int b = 0; b < padding.length; b++) {
            int pad = Math.clamp(padding[b] - seen, 0, t);
            if (pad > 0) {
                Tensor zeros = tape.allocate(1, shape[1], pad, shape[3]);
                backend.copy(zeros, kTilde.slice(0, b, b + 1).slice(2, 0, pad));
            }
        }
        Tensor out = tape.allocate(v.shape());
        backend.linearAttentionCausal(qHat, kTilde, v, eps, sums, normaliser, out);
        seen += t;
        return out;
    }
}
