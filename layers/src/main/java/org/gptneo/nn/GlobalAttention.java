package org.gptneo.nn;

import java.lang.foreign.Arena;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.Backend;

/** Causal attention over every earlier token; for generation it keeps every token, up to the context. */
public final class GlobalAttention extends Attention {

    public GlobalAttention(ParameterSource source, String prefix, int layer, int hidden, int heads,
                           float attentionDropout, float residDropout) {
        super(source, prefix, layer, hidden, heads, attentionDropout, residDropout);
    }

    @Override
    public AttentionMask mask() {
        return AttentionMask.GLOBAL;
    }

    @Override
    public AttentionCache newCache(Backend backend, Arena arena, int batch, int[] padding, int contextLength) {
        return cache(backend, arena, batch, padding, contextLength, contextLength);
    }
}
