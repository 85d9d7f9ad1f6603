package org.gptneo.model;

import java.lang.foreign.Arena;
import org.gptneo.autograd.Tape;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * Keys and values of the tokens a batch of sequences has seen so far, per layer, for generation.
 * Global layers keep every token (up to the context length); local layers keep only the last
 * window − 1, all a new token can still see. Positions on the key axis are cache slots: the local
 * band and the left padding are counted in slots, as in Hugging Face. One cache per generation
 * (not thread-safe); {@link #close()} frees it.
 */
public final class KvCache implements AutoCloseable {
    /** Keys and values [B, H, S, hs] a layer attends over, with the mask that goes with them. */
    record Keys(Tensor keys, Tensor values, AttentionMask mask) {}

    private final GptNeoConfig config;
    private final Backend backend;
    private final Arena arena = Arena.ofShared();
    private final int batch;
    private final int[] firstKeys;          // per row: slots before it are left padding
    private final Tensor[] keys, values;    // per layer [B, H, capacity, hs], allocated on first use
    private int length;                      // tokens seen per row (padding included)

    /**
     * @param padding per row, how many of its first tokens are left padding (null: none)
     */
    public KvCache(GptNeoModel model, int batch, int[] padding) {
        this.config = model.config();
        this.backend = model.backend();
        this.batch = batch;
        this.firstKeys = padding == null ? new int[batch] : padding.clone();
        if (this.firstKeys.length != batch) {
            throw new IllegalArgumentException("padding has " + firstKeys.length + " rows for a batch of " + batch);
        }
        this.keys = new Tensor[config.layers()];
        this.values = new Tensor[config.layers()];
    }

    /** Tokens seen so far per row, padding included. */
    public int length() {
        return length;
    }

    public int batch() {
        return batch;
    }

    void requireFits(int newTokens) {
        if (length + newTokens > config.contextLength()) {
            throw new IllegalArgumentException("cache of " + length + " tokens + " + newTokens
                    + " new ones exceeds the context length " + config.contextLength());
        }
    }

    /**
     * Appends a layer's new keys and values [B, H, T, hs] and returns everything that layer
     * attends over, contiguous, in the tape's memory.
     */
    Keys extend(Tape tape, int layer, boolean local, Tensor newKeys, Tensor newValues) {
        int t = newKeys.dim(2);
        int kept = local ? Math.min(length, config.windowSize() - 1) : length;
        int dropped = length - kept;
        int capacity = local ? config.windowSize() - 1 : config.contextLength();
        if (keys[layer] == null) {
            keys[layer] = backend.allocate(arena, DType.F32, batch, config.heads(), capacity, config.headSize());
            values[layer] = backend.allocate(arena, DType.F32, batch, config.heads(), capacity, config.headSize());
        }
        Tensor allKeys = tape.allocate(batch, config.heads(), kept + t, config.headSize());
        Tensor allValues = tape.allocate(batch, config.heads(), kept + t, config.headSize());
        concat(keys[layer], kept, newKeys, allKeys);
        concat(values[layer], kept, newValues, allValues);
        if (local) {                                              // keep the last window − 1 slots
            int keep = Math.min(kept + t, capacity);
            copySlots(allKeys, kept + t - keep, keys[layer], 0, keep);
            copySlots(allValues, kept + t - keep, values[layer], 0, keep);
        } else {                                                  // append the new slots
            copySlots(allKeys, kept, keys[layer], kept, t);
            copySlots(allValues, kept, values[layer], kept, t);
        }

        int[] first = new int[batch];
        for (int b = 0; b < batch; b++) {
            first[b] = Math.max(0, firstKeys[b] - dropped);
        }
        AttentionMask band = local ? AttentionMask.local(config.windowSize()) : AttentionMask.GLOBAL;
        return new Keys(allKeys, allValues, band.withFirstKeys(first));
    }

    /** Called once all layers have seen the new tokens. */
    void advance(int newTokens) {
        length += newTokens;
    }

    /** out [B, H, kept + T, hs] = cached[:, :, 0:kept] followed by fresh [B, H, T, hs]. */
    private void concat(Tensor cached, int kept, Tensor fresh, Tensor out) {
        int t = fresh.dim(2), s = out.dim(2);
        for (int bh = 0; bh < batch * config.heads(); bh++) {
            if (kept > 0) {
                backend.copy(slots(cached, bh, 0, kept), slots(out, bh, 0, kept));
            }
            backend.copy(slots(fresh, bh, 0, t), slots(out, bh, kept, s));
        }
    }

    /** Copies {@code count} slots of src starting at {@code from} into dst starting at {@code to}, for every (b, h). */
    private void copySlots(Tensor src, int from, Tensor dst, int to, int count) {
        if (count == 0) return;
        for (int bh = 0; bh < batch * config.heads(); bh++) {
            backend.copy(slots(src, bh, from, from + count), slots(dst, bh, to, to + count));
        }
    }

    /** The view [to − from, hs] of slots [from, to) for flattened (batch, head) index bh of x [B, H, X, hs]. */
    private static Tensor slots(Tensor x, int bh, int from, int to) {
        int capacity = x.dim(2), hs = x.dim(3);
        return x.reshape(-1, capacity, hs).rows(bh, bh + 1).reshape(capacity, hs).rows(from, to);
    }

    @Override
    public void close() {
        arena.close();
    }
}
