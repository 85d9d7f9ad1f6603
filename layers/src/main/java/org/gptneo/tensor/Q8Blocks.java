package org.gptneo.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The {@link DType#Q8} format: elements in blocks of {@link #BLOCK}, each stored as BLOCK int8 values
 * q followed by one little-endian F32 scale s (BLOCK + 4 bytes); element i of a block is q[i]·s.
 * Quantizing is symmetric: s = max|x| / 127 over the block and q = round-half-even(x / s), clamped to
 * [-127, 127], so every value is within about s/2 of its original (an all-zero block has s = 0).
 * Blocks run along the last dimension, so whole rows can be sliced.
 */
public final class Q8Blocks {
    /** Elements per block. */
    public static final int BLOCK = 32;
    /** Bytes per block: the int8 values, then the scale. */
    public static final int BLOCK_BYTES = BLOCK + Float.BYTES;

    private static final ValueLayout.OfFloat SCALE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * Vectors for {@link #quantizeFast}: the machine's floats where they have at least 8 lanes (as many
     * bytes then fill the smallest vector shape), else 8 lanes; ints and bytes with as many lanes.
     */
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.length() >= 8
            ? FloatVector.SPECIES_PREFERRED : FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8));
    private static final float ROUNDING = 12582912f; // 1.5·2²³

    private Q8Blocks() {}

    /** Bytes that {@code elements} take; they must be a whole number of blocks. */
    static long bytes(long elements) {
        if (elements % BLOCK != 0) {
            throw new IllegalArgumentException("Q8 stores blocks of " + BLOCK + " elements, not " + elements);
        }
        return elements / BLOCK * BLOCK_BYTES;
    }

    /** Byte offset of element {@code index}'s int8 value. */
    public static long valueOffset(long index) {
        return index / BLOCK * BLOCK_BYTES + index % BLOCK;
    }

    /** Byte offset of the scale of the block holding element {@code index}. */
    public static long scaleOffset(long index) {
        return index / BLOCK * BLOCK_BYTES + BLOCK;
    }

    /** Element {@code index} as a float: q·s. */
    public static float get(MemorySegment data, long index) {
        return data.get(ValueLayout.JAVA_BYTE, valueOffset(index)) * data.get(SCALE, scaleOffset(index));
    }

    /**
     * Quantizes {@code values[at .. at + BLOCK)} into block {@code block} of {@code data}: the
     * readable definition; {@link #quantizeFast} gives the same bytes.
     *
     * @throws IllegalArgumentException if a value is NaN or infinite
     */
    public static void quantize(float[] values, int at, MemorySegment data, long block) {
        float max = 0f;
        for (int i = 0; i < BLOCK; i++) {
            float v = values[at + i];
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("Q8 cannot hold the value " + v);
            }
            max = Math.max(max, Math.abs(v));
        }
        float scale = max / 127f;
        long base = block * BLOCK_BYTES;
        for (int i = 0; i < BLOCK; i++) {
            float q = scale == 0f ? 0f : Math.clamp((float) Math.rint(values[at + i] / scale), -127f, 127f);
            data.set(ValueLayout.JAVA_BYTE, base + i, (byte) q);
        }
        data.set(SCALE, base + BLOCK, scale);
    }

    /**
     * As {@link #quantize} for {@code blocks} consecutive blocks, values[0 ..) into blocks
     * {@code first ..} of {@code data}, with vectors: |x| / s ≤ 127 (to within a rounding), so adding
     * and taking away 1.5·2²³ rounds it half to even exactly as {@link Math#rint} does. The rounded
     * values are narrowed to ints and then bytes in a block-sized array, copied out whole: narrowing
     * floats straight to bytes ran at 0.6-1.7 G values/s on one core from run to run (the compiled
     * code differed), this way at 1.9 (AVX-512, 4 MiB of values, scratch harness, 2026-12-07).
     */
    static void quantizeFast(float[] values, int blocks, MemorySegment data, long first) {
        byte[] block = new byte[BLOCK];
        for (int b = 0; b < blocks; b++) {
            int at = b * BLOCK;
            FloatVector max = FloatVector.zero(F);
            for (int i = 0; i < BLOCK; i += F.length()) {
                max = max.max(FloatVector.fromArray(F, values, at + i).abs());
            }
            float scale = max.reduceLanes(VectorOperators.MAX); // a maximum: the same whatever the order
            if (!Float.isFinite(scale)) {
                quantize(values, at, data, first + b);           // names the value
                continue;
            }
            scale /= 127f;
            for (int i = 0; i < BLOCK; i += F.length()) {
                FloatVector q = scale == 0f ? FloatVector.zero(F) : FloatVector.fromArray(F, values, at + i).div(scale)
                        .add(ROUNDING).sub(ROUNDING).max(-127f).min(127f);
                IntVector whole = (IntVector) q.convertShape(VectorOperators.F2I, I, 0);   // exact: q is a whole number
                ((ByteVector) whole.convertShape(VectorOperators.I2B, B, 0)).intoArray(block, i);
            }
            long base = (first + b) * BLOCK_BYTES;
            MemorySegment.copy(block, 0, data, ValueLayout.JAVA_BYTE, base, BLOCK);
            data.set(SCALE, base + BLOCK, scale);
        }
    }
}
