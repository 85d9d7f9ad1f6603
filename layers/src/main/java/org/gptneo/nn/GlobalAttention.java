package org.gptneo.nn;

import java.lang.foreign.Arena;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.Backend;

/**
 * Attention over every earlier token (causal) or, in a masked language model, over every token;
 * for generation it keeps every token, up to the context.
 */
public final class GlobalAttention extends SoftmaxAttention {
    private final AttentionMask mask;

    public GlobalAttention(ParameterSource source, String prefix, int layer, int hidden, int heads,
                           float attentionDropout, float residDropout) {
        this(source, prefix, layer, hidden, heads, attentionDropout, residDropout, true, false);
    }

    public GlobalAttention(ParameterSource source, String prefix, int layer, int hidden, int heads,
                           float attentionDropout, float residDropout, boolean causal, boolean rotary) {
        super(source, prefix, layer, hidden, heads, attentionDropout, residDropout, rotary);
        this.mask = causal ? AttentionMask.GLOBAL : AttentionMask.GLOBAL.bidirectional();
    }

    @Override
    public AttentionMask mask() {
        return mask;
    }

    @Override
    public LayerState newState(Backend backend, Arena arena, int batch, int[] padding, int tokens) {
        return cache(backend, arena, batch, padding, tokens, tokens);
    }
}
