package org.gptneo.model;

import java.lang.foreign.Arena;
import java.util.List;
import org.gptneo.nn.Attention;
import org.gptneo.nn.Block;
import org.gptneo.nn.LayerState;
import org.gptneo.tensor.HugePages;

/**
 * What a batch of sequences has seen so far, for generation: one {@link LayerState} per layer,
 * made by that layer's attention (a global layer keeps every token it will see, a local one only
 * its window, a linear one a running sum; a layer without attention nothing), preallocated on the
 * model's backend for the tokens the cache was made for and appended in place. Positions on the key
 * axis are cache slots: the local band and the left padding are counted in slots, as in Hugging
 * Face. One cache per generation (not thread-safe); {@link #close()} frees it.
 */
public final class KvCache implements AutoCloseable {
    private final int capacity;                   // tokens per row this cache holds, padding included
    private final int contextLength;
    private final int batch;
    private final Arena arena = HugePages.over(Arena.ofShared());
    private final LayerState[] layers;            // null for a layer without attention
    private int length;                      // tokens seen per row (padding included)

    /** A cache for up to the model's whole context per row. */
    public KvCache(GptNeoModel model, int batch, int[] padding) {
        this(model, batch, padding, model.config().contextLength());
    }

    /**
     * A cache for up to {@code tokens} tokens per row, padding included: a prompt of P tokens and N new
     * ones need P + N. Global layers keep keys and values [B, H, tokens, hs], so the first token of
     * every (row, head) lands in its own stretch of memory: a cache made for the whole context is
     * resident almost whole from the first step (2.7B: about 0.7 GB for 2048 tokens), one made for
     * the generation only holds what that needs.
     *
     * @param padding per row, how many of its first tokens are left padding (null: none)
     * @param tokens  at least 1, at most the context length
     */
    public KvCache(GptNeoModel model, int batch, int[] padding, int tokens) {
        int[] pad = padding == null ? new int[batch] : padding.clone();
        if (pad.length != batch) {
            throw new IllegalArgumentException("padding has " + pad.length + " rows for a batch of " + batch);
        }
        if (!model.config().causal()) {
            throw new IllegalArgumentException("a masked-LM model does not generate left to right (it fills masks)");
        }
        this.contextLength = model.config().contextLength();
        if (tokens < 1 || tokens > contextLength) {
            throw new IllegalArgumentException("a cache holds 1 to " + contextLength + " tokens (the context length), asked for " + tokens);
        }
        this.capacity = tokens;
        this.batch = batch;
        List<Block> blocks = model.blocks();
        this.layers = new LayerState[blocks.size()];
        try {
            for (int i = 0; i < layers.length; i++) {
                Attention attention = blocks.get(i).attention();
                layers[i] = attention == null ? null : attention.newState(model.backend(), arena, batch, pad, tokens);
            }
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** Tokens seen so far per row, padding included. */
    public int length() {
        return length;
    }

    public int batch() {
        return batch;
    }

    /** The most tokens per row this cache holds, padding included. */
    public int capacity() {
        return capacity;
    }

    /** Slot copies per (batch, head) summed over layers so far: O(1) per token and layer. */
    public long copiedSlots() {
        long total = 0;
        for (LayerState layer : layers) total += layer == null ? 0 : layer.copiedSlots();
        return total;
    }

    void requireFits(int newTokens) {
        if (length + newTokens > capacity) {
            throw new IllegalArgumentException("cache of " + length + " tokens + " + newTokens + " new ones exceeds "
                    + (capacity == contextLength ? "the context length " + contextLength
                            : "the " + capacity + " tokens it was made for (the context length is " + contextLength + ")"));
        }
    }

    LayerState layer(int index) {
        return layers[index];
    }

    /** Called once all layers have seen the new tokens. */
    void advance(int newTokens) {
        length += newTokens;
    }

    @Override
    public void close() {
        arena.close();
    }
}
