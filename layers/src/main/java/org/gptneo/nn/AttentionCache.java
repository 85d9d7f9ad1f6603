package org.gptneo.nn;

import java.lang.foreign.Arena;
import org.gptneo.autograd.Tape;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * One attention layer's keys and values for generation, preallocated on the backend as
 * [B, H, capacity, hs] and appended in place: a step of T new tokens copies T slots per (batch, head).
 *
 * <p>A global layer's capacity is the context: it never moves a slot. A local layer needs only the
 * last window − 1 keys; its buffer holds twice the window, and when it is full the last window − 1
 * slots move to the front (once every window + 1 tokens while decoding), so copying stays O(1) per
 * token amortised. Slot order is token order, so the mask is the layer's own band counted in slots
 * (as Hugging Face counts it, padding included), with left padding hidden per row. A step too large
 * for the buffer (a long prompt on a local layer) attends over a contiguous copy in the tape instead.
 * Not thread-safe: one cache per generation.
 */
public final class AttentionCache implements LayerState {
    /** Keys and values [B, H, S, hs] (views of the buffer, or tape copies) with the mask that goes with them. */
    public record Keys(Tensor keys, Tensor values, AttentionMask mask) {}

    private final Backend backend;
    private final AttentionMask band;
    private final int keep;                // slots a new token can still need: window − 1, or all
    private final int[] padding;           // per row: its first tokens that are left padding
    private final Tensor keys, values;     // [B, H, capacity, hs]
    private int filled;                    // slots in use
    private int dropped;                   // tokens moved out of the front of the buffer
    private long copiedSlots;              // slot copies per (batch, head), for tests and benchmarks

    AttentionCache(Backend backend, Arena arena, AttentionMask band, int keep, int capacity, int batch, int heads,
                   int headSize, int[] padding) {
        this.backend = backend;
        this.band = band;
        this.keep = keep;
        this.padding = padding.clone();
        this.keys = backend.allocate(arena, DType.F32, batch, heads, capacity, headSize);
        this.values = backend.allocate(arena, DType.F32, batch, heads, capacity, headSize);
    }

    /** Appends new keys and values [B, H, T, hs] and returns everything the new queries attend over. */
    public Keys append(Tape tape, Tensor newKeys, Tensor newValues) {
        int t = newKeys.dim(2), capacity = keys.dim(2);
        int kept = Math.min(filled, keep);
        if (filled + t > capacity && kept + t <= capacity && filled - kept >= kept) {
            moveToFront(filled - kept, kept);                     // no overlap: the copy is safe in place
        }
        if (filled + t <= capacity) {
            store(newKeys, newValues, filled);
            filled += t;
            return new Keys(keys.slice(2, 0, filled), values.slice(2, 0, filled), mask());
        }
        // a step larger than the buffer allows: attend over a contiguous copy, keep the tail
        int all = kept + t;
        Tensor k = tape.allocate(keys.dim(0), keys.dim(1), all, keys.dim(3));
        Tensor v = tape.allocate(keys.dim(0), keys.dim(1), all, keys.dim(3));
        backend.copy(keys.slice(2, filled - kept, filled), k.slice(2, 0, kept));
        backend.copy(values.slice(2, filled - kept, filled), v.slice(2, 0, kept));
        backend.copy(newKeys, k.slice(2, kept, all));
        backend.copy(newValues, v.slice(2, kept, all));
        copiedSlots += all;
        int firstToken = dropped + filled - kept;          // the token in k's first slot
        AttentionMask mask = maskFrom(firstToken);
        int tail = Math.min(all, Math.min(keep, capacity));
        backend.copy(k.slice(2, all - tail, all), keys.slice(2, 0, tail));
        backend.copy(v.slice(2, all - tail, all), values.slice(2, 0, tail));
        copiedSlots += tail;
        dropped = firstToken + all - tail;
        filled = tail;
        return new Keys(k, v, mask);
    }

    /** Slot copies per (batch, head) so far: a step of T tokens costs T, plus the occasional move. */
    @Override
    public long copiedSlots() {
        return copiedSlots;
    }

    private void moveToFront(int from, int count) {
        if (count > 0) {
            backend.copy(keys.slice(2, from, from + count), keys.slice(2, 0, count));
            backend.copy(values.slice(2, from, from + count), values.slice(2, 0, count));
        }
        copiedSlots += count;
        dropped += from;
        filled = count;
    }

    /** Copies new keys and values [B, H, T, hs] into slots [at, at + T). */
    private void store(Tensor newKeys, Tensor newValues, int at) {
        int t = newKeys.dim(2);
        backend.copy(newKeys, keys.slice(2, at, at + t));
        backend.copy(newValues, values.slice(2, at, at + t));
        copiedSlots += t;
    }

    private AttentionMask mask() {
        return maskFrom(dropped);
    }

    /** The band, with each row's padding hidden, when the first key slot holds token {@code firstToken}. */
    private AttentionMask maskFrom(int firstToken) {
        int[] first = new int[padding.length];
        for (int b = 0; b < first.length; b++) {
            first[b] = Math.max(0, padding[b] - firstToken);
        }
        return band.withFirstKeys(first);
    }
}
