package org.gptneo.nn;

import java.lang.foreign.Arena;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;

/**
 * GPT-Neo's linear attention ("efficient attention" with softmax feature maps): no scaling, no mask,
 * no dropout on attention weights; the same q, k, v and out projections as softmax attention.
 * Queries always go through a softmax over their features, q̂ = softmax(q).
 *
 * <ul>
 *   <li>causal: k̃ = exp(k), out[n] = (q̂[n]·Σ_{m≤n} k̃[m]ᵀ·v[m]) / (q̂[n]·(Σ_{m≤n} k̃[m] + ε)), the prefix
 *       sums streamed ({@link CausalLinearAttention}); generation keeps them ({@link LinearAttentionState});
 *   <li>non-causal (masked language models): k̂ = softmax of k over the sequence, per feature;
 *       out[n] = q̂[n]·C with C = Σ_n k̂[n]ᵀ·v[n] (hs × hs per head); no generation state.
 * </ul>
 */
public final class LinearAttention extends Attention {
    /** ε, added to every element of the keys' cumulative sum in the causal form's denominator. */
    public static final float EPSILON = 1e-6f;

    private final boolean causal;

    public LinearAttention(ParameterSource source, String prefix, int layer, int hidden, int heads, float residDropout,
                           boolean causal, boolean rotary) {
        super(source, prefix, layer, hidden, heads, residDropout, rotary);
        this.causal = causal;
    }

    /** Whether a token sees only itself and the tokens before it. */
    public boolean causal() {
        return causal;
    }

    @Override
    public LayerState newState(Backend backend, Arena arena, int batch, int[] padding, int tokens) {
        if (!causal) {
            throw new IllegalStateException("a non-causal (masked-LM) linear attention layer keeps no generation state");
        }
        return new LinearAttentionState(backend, arena, batch, heads(), headSize(), padding);
    }

    @Override
    Var attend(Pass pass, Var q, Var k, Var v, LayerState state) {
        Tape tape = pass.tape();
        if (state == null) {
            return parallel(tape, q, k, v, causal);
        }
        if (!causal) {
            throw new IllegalStateException("a non-causal (masked-LM) linear attention layer takes no generation state");
        }
        if (!(state instanceof LinearAttentionState running)) {
            throw new IllegalArgumentException("linear attention got a generation state of another layer kind: " + state);
        }
        if (q.requiresGrad() || k.requiresGrad() || v.requiresGrad()) {
            throw new IllegalStateException("linear attention records no gradients through a generation state:"
                    + " generate on an inference tape");
        }
        return Var.constant(running.attend(tape, tape.softmax(q).value(), tape.exp(k).value(), v.value(), EPSILON));
    }

    /** The parallel form on q, k, v [B, H, T, hs] (projected, feature maps not yet applied), causal or not. */
    static Var parallel(Tape tape, Var q, Var k, Var v, boolean causal) {
        Var qHat = tape.softmax(q);                                                // over the features
        if (causal) {
            return tape.apply(new CausalLinearAttention(EPSILON), qHat, tape.exp(k), v);
        }
        return nonCausal(tape, qHat, k, v);
    }

    /** q̂ [B, H, T, hs]·(softmax over T of k)ᵀ·v, through the hs × hs context of each head. */
    private static Var nonCausal(Tape tape, Var qHat, Var k, Var v) {
        int[] s = k.shape();                                                       // [B, H, T, hs]
        Var keysByFeature = tape.reshape(tape.swapMiddle(tape.reshape(k, s[0] * s[1], s[2], s[3], 1)),
                s[0], s[1], s[3], s[2]);                                           // [B, H, hs, T]
        Var kHat = tape.softmax(keysByFeature);                                    // over the sequence
        Var context = tape.matmul(kHat, false, v, false);                          // [B, H, hs, hs]
        return tape.matmul(qHat, false, context, false);                           // [B, H, T, hs]
    }
}
