package org.gptneo.tensor;

/**
 * Element types. F32 is the compute type; F16 and BF16 are storage types (converted exactly, with
 * round-to-nearest-even, by {@link HalfFloats}); I32 holds token ids and labels.
 */
public enum DType {
    F32(4, "F32"),
    F16(2, "F16"),
    BF16(2, "BF16"),
    I32(4, "I32");

    private final int byteSize;
    private final String safetensorsName;

    DType(int byteSize, String safetensorsName) {
        this.byteSize = byteSize;
        this.safetensorsName = safetensorsName;
    }

    public int byteSize() {
        return byteSize;
    }

    /** The dtype's name in a safetensors header ("F32", "BF16", ...). */
    public String safetensorsName() {
        return safetensorsName;
    }
}
