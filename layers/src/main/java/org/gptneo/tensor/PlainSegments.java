package org.gptneo.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Native memory held by a segment of another class (a file mapping), seen as an ordinary native
 * segment of the same arena, read-only where the original is. C2 compiles each vector load for the
 * segment classes that load has met: the CPU kernels read weights and activations through the same
 * loads, and once those loads have met mapped and allocated segments both, they run at about two thirds
 * of their speed (a four-row F32 matrix-vector product over 400 MB on one core: 30 GB/s with one
 * segment class, 19 with two). So weights mapped from a file are handed to the kernels as plain
 * segments. Where native access is not enabled for this module, the segment itself is returned.
 */
public final class PlainSegments {
    private PlainSegments() {}

    /**
     * {@code segment}'s memory as a plain native segment valid while {@code arena} is open; {@code arena}
     * must be the one {@code segment} belongs to.
     */
    public static MemorySegment of(MemorySegment segment, Arena arena) {
        if (!segment.isNative() || !PlainSegments.class.getModule().isNativeAccessEnabled()) return segment;
        MemorySegment plain = MemorySegment.ofAddress(segment.address()).reinterpret(segment.byteSize(), arena, null);
        return segment.isReadOnly() ? plain.asReadOnly() : plain;
    }
}
