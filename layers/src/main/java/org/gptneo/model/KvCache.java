package org.gptneo.model;

import java.lang.foreign.Arena;
import java.util.List;
import org.gptneo.nn.Attention;
import org.gptneo.nn.Block;
import org.gptneo.nn.LayerState;
import org.gptneo.tensor.HugePages;

/**
 * What a batch of sequences has seen so far, for generation: one {@link LayerState} per layer,
 * made by that layer's attention (a global layer keeps every token up to the context, a local one
 * only its window, a linear one a running sum; a layer without attention nothing), preallocated on the model's backend and appended in place. Positions on the key
 * axis are cache slots: the local band and the left padding are counted in slots, as in Hugging
 * Face. One cache per generation (not thread-safe); {@link #close()} frees it.
 */
public final class KvCache implements AutoCloseable {
    private final int contextLength;
    private final int batch;
    private final Arena arena = HugePages.over(Arena.ofShared());
    private final LayerState[] layers;            // null for a layer without attention
    private int length;                      // tokens seen per row (padding included)

    /**
     * @param padding per row, how many of its first tokens are left padding (null: none)
     */
    public KvCache(GptNeoModel model, int batch, int[] padding) {
        int[] pad = padding == null ? new int[batch] : padding.clone();
        if (pad.length != batch) {
            throw new IllegalArgumentException("padding has " + pad.length + " rows for a batch of " + batch);
        }
        if (!model.config().causal()) {
            throw new IllegalArgumentException("a masked-LM model does not generate left to right (it fills masks)");
        }
        this.contextLength = model.config().contextLength();
        this.batch = batch;
        List<Block> blocks = model.blocks();
        this.layers = new LayerState[blocks.size()];
        try {
            for (int i = 0; i < layers.length; i++) {
                Attention attention = blocks.get(i).attention();
                layers[i] = attention == null ? null : attention.newState(model.backend(), arena, batch, pad, contextLength);
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

    /** Slot copies per (batch, head) summed over layers so far: O(1) per token and layer. */
    public long copiedSlots() {
        long total = 0;
        for (LayerState layer : layers) total += layer == null ? 0 : layer.copiedSlots();
        return total;
    }

    void requireFits(int newTokens) {
        if (length + newTokens > contextLength) {
            throw new IllegalArgumentException("cache of " + length + " tokens + " + newTokens
                    + " new ones exceeds the context length " + contextLength);
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
