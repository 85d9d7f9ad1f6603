package org.gptneo.autograd;

/**
 * Byte counts shared by a {@link Tape} and the checkpoint sub-tapes it opens: what they hold now,
 * the most they held at once, and the parameter gradients they caused to be allocated. Sizes are
 * logical (elements × element size), without the allocator's alignment padding.
 */
final class MemoryMeter {
    private long live;
    private long peak;
    private long parameterGradients;

    void allocated(long bytes) {
        live += bytes;
        peak = Math.max(peak, live);
    }

    void released(long bytes) {
        live -= bytes;
    }

    void parameterGradientAllocated(long bytes) {
        parameterGradients += bytes;
    }

    long peak() {
        return peak;
    }

    long parameterGradients() {
        return parameterGradients;
    }
}
