package org.gptneo.nn;

import java.lang.foreign.Arena;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.Backend;

/**
 * Causal attention over the last {@code window} tokens (the query's own included: i − w &lt; j ≤ i);
 * for generation it keeps only the window − 1 tokens a new one can still see.
 */
public final class LocalAttention extends Attention {
    private final int window;

    public LocalAttention(ParameterSource source, String prefix, int layer, int hidden, int heads, int window,
                          float attentionDropout, float residDropout) {
        super(source, prefix, layer, hidden, heads, attentionDropout, residDropout);
        this.window = window;
    }

    public int window() {
        return window;
    }

    @Override
    public AttentionMask mask() {
        return AttentionMask.local(window);
    }

    @Override
    public AttentionCache newCache(Backend backend, Arena arena, int batch, int[] padding, int contextLength) {
        int keep = window - 1;
        return cache(backend, arena, batch, padding, keep, Math.min(contextLength, Math.max(1, 2 * window)));
    }
}
