package org.gptneo.nn;

/**
 * What one attention layer keeps between generation steps, made by {@link Attention#newState}:
 * keys and values for softmax attention ({@link AttentionCache}), a running sum for linear
 * attention. One per layer and generation; not thread-safe.
 */
public interface LayerState {

    /** Slot copies per (batch, head) so far, for tests and benchmarks; 0 for a state without slots. */
    default long copiedSlots() {
        return 0;
    }
}
