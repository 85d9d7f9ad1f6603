package org.gptneo.nn;

import java.lang.foreign.Arena;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.Backend;

/**
 * Attention over a band of {@code window} tokens: causal, the last {@code window} tokens with the
 * query's own (i − w &lt; j ≤ i); bidirectional (masked language models), |j − i| &lt; w. For
 * generation it keeps only the window − 1 tokens a new one can still see.
 */
public final class LocalAttention extends SoftmaxAttention {
    private final int window;
    private final AttentionMask mask;

    public LocalAttention(ParameterSource source, String prefix, int layer, int hidden, int heads, int window,
                          float attentionDropout, float residDropout) {
        this(source, prefix, layer, hidden, heads, window, attentionDropout, residDropout, true, false);
    }

    public LocalAttention(ParameterSource source, String prefix, int layer, int hidden, int heads, int window,
                          float attentionDropout, float residDropout, boolean causal, boolean rotary) {
        super(source, prefix, layer, hidden, heads, attentionDropout, residDropout, rotary);
        this.window = window;
        AttentionMask band = AttentionMask.local(window);
        this.mask = causal ? band : band.bidirectional();
    }

    public int window() {
        return window;
    }

    @Override
    public AttentionMask mask() {
        return mask;
    }

    @Override
    public LayerState newState(Backend backend, Arena arena, int batch, int[] padding, int tokens) {
        int keep = window - 1;
        return cache(backend, arena, batch, padding, keep, Math.min(tokens, Math.max(1, 2 * window)));
    }
}
