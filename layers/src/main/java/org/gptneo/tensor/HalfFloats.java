package org.gptneo.tensor;

/**
 * Exact conversions between float and the two 16-bit storage formats. Narrowing rounds to nearest,
 * ties to even; NaN stays NaN; widening is exact.
 */
public final class HalfFloats {
    private HalfFloats() {}

    /** IEEE binary16 bits → float (exact). */
    public static float f16ToFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    /** float → IEEE binary16 bits, round to nearest even (overflow becomes infinity). */
    public static short floatToF16(float value) {
        return Float.floatToFloat16(value);
    }

    /** bfloat16 bits → float (exact: bfloat16 is the top half of a float). */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** float → bfloat16 bits, round to nearest even; NaN keeps its sign and stays a (quiet) NaN. */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int lsb = (bits >>> 16) & 1;
        int rounded = bits + 0x7FFF + lsb;
        return (short) (rounded >>> 16);
    }
}
