package org.gptneo.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Exact conversions between float and the two 16-bit storage formats. Narrowing rounds to nearest,
 * ties to even; NaN stays NaN; widening is exact. The bfloat16 array forms ({@link #floatsToBf16},
 * {@link #bf16sToFloats}) convert a vector of elements at a time, bit for bit as the scalar forms do:
 * they are what loading a checkpoint with {@code --dtype bf16} spends its time on.
 */
public final class HalfFloats {
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> F = VectorSpecies.of(float.class, I.vectorShape());
    /** As many 16-bit lanes as I has 32-bit ones. */
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(I.vectorBitSize() / 2));

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

    /**
     * bfloat16 bits of {@code floats[0 .. count)} into elements [index, index + count) of {@code dst}
     * (16-bit little-endian elements): {@link #floatToBf16} of each, a vector at a time.
     */
    public static void floatsToBf16(float[] floats, int count, MemorySegment dst, long index) {
        int i = 0;
        for (int end = count - I.length(); i <= end; i += I.length()) {
            FloatVector v = FloatVector.fromArray(F, floats, i);
            IntVector bits = v.reinterpretAsInts();
            IntVector high = bits.lanewise(VectorOperators.LSHR, 16);
            IntVector rounded = bits.add(high.and(1)).add(0x7FFF).lanewise(VectorOperators.LSHR, 16);
            VectorMask<Integer> nan = v.test(VectorOperators.IS_NAN).cast(I);
            IntVector result = rounded.blend(high.or(0x0040), nan);
            result.convertShape(VectorOperators.I2S, S, 0).reinterpretAsShorts()
                    .intoMemorySegment(dst, (index + i) * Short.BYTES, ByteOrder.LITTLE_ENDIAN);
        }
        for (; i < count; i++) dst.setAtIndex(SHORT, index + i, floatToBf16(floats[i]));
    }

    /**
     * {@code floats[0 .. count)} = the floats of the bfloat16 elements [index, index + count) of
     * {@code src}: {@link #bf16ToFloat} of each, a vector at a time.
     */
    public static void bf16sToFloats(MemorySegment src, long index, float[] floats, int count) {
        int i = 0;
        for (int end = count - I.length(); i <= end; i += I.length()) {
            ShortVector bits = ShortVector.fromMemorySegment(S, src, (index + i) * Short.BYTES, ByteOrder.LITTLE_ENDIAN);
            ((IntVector) bits.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats().intoArray(floats, i);
        }
        for (; i < count; i++) floats[i] = bf16ToFloat(src.getAtIndex(SHORT, index + i));
    }
}
