package org.gptneo.tensor;

/**
 * Element types. F32 is the compute type; F16 and BF16 are storage types (converted exactly, with
 * round-to-nearest-even, by {@link HalfFloats}); Q8 is an 8-bit storage type for weights (blocks of
 * 32 int8 values with one F32 scale, {@link Q8Blocks}); I32 holds token ids and labels.
 */
public enum DType {
    F32(4, "F32"),
    F16(2, "F16"),
    BF16(2, "BF16"),
    /** Symmetric 8-bit blocks: a tensor's last dimension is a whole number of {@link Q8Blocks#BLOCK} elements. */
    Q8(0, "Q8"),
    I32(4, "I32");

    private final int byteSize;
    private final String safetensorsName;

    DType(int byteSize, String safetensorsName) {
        this.byteSize = byteSize;
        this.safetensorsName = safetensorsName;
    }

    /** Bytes per element; Q8 has none (its elements come in blocks: use {@link #bytes(long)}). */
    public int byteSize() {
        if (this == Q8) {
            throw new IllegalStateException("Q8 elements come in blocks of " + Q8Blocks.BLOCK + ": ask DType.bytes(elements)");
        }
        return byteSize;
    }

    /** Bytes that {@code elements} elements take (for Q8, a whole number of blocks of them). */
    public long bytes(long elements) {
        return this == Q8 ? Q8Blocks.bytes(elements) : elements * byteSize;
    }

    /**
     * The dtype's name in a safetensors header ("F32", "BF16", ...). Q8 has no safetensors form:
     * a Q8 model is saved in a floating-point dtype.
     */
    public String safetensorsName() {
        return safetensorsName;
    }
}
