package org.gptneo.nn;

import java.lang.foreign.Arena;
import org.gptneo.autograd.Var;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.Backend;

/**
 * Softmax attention: softmax(mask(q·kᵀ))·v with attention dropout. The kinds differ in which keys a
 * query sees ({@link #mask()}: {@link GlobalAttention}, {@link LocalAttention}, each causal or, for
 * masked language models, bidirectional) and in what they keep for generation ({@link #newState}).
 */
public abstract sealed class SoftmaxAttention extends Attention permits GlobalAttention, LocalAttention {
    private final float attentionDropout;

    SoftmaxAttention(ParameterSource source, String prefix, int layer, int hidden, int heads,
                     float attentionDropout, float residDropout, boolean rotary) {
        super(source, prefix, layer, hidden, heads, residDropout, rotary);
        this.attentionDropout = attentionDropout;
    }

    /** Which keys a query sees, without padding. */
    public abstract AttentionMask mask();

    final AttentionCache cache(Backend backend, Arena arena, int batch, int[] padding, int keep, int capacity) {
        if (!mask().causal()) {
            throw new IllegalStateException("a bidirectional (masked-LM) attention layer keeps no generation state");
        }
        return new AttentionCache(backend, arena, mask(), keep, capacity, batch, heads(), headSize(), padding);
    }

    @Override
    Var attend(Pass pass, Var qs, Var ks, Var vs, LayerState state) {
        AttentionMask mask = mask();
        if (state != null) {
            AttentionCache.Keys all = ((AttentionCache) state).append(pass.tape(), ks.value(), vs.value());
            ks = Var.constant(all.keys());                                 // [B, H, S, hs]
            vs = Var.constant(all.values());
            mask = all.mask();
        }
        int site = 4 * layer() + 1;                                        // the probabilities' dropout site
        return pass.tape().attention(qs, ks, vs, mask, pass.dropoutRate(attentionDropout), pass.dropoutSeed(site)); // [B, H, T, hs]
    }
}
