package org.gptneo.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HalfFloatsTest {
    private static short bf16(int floatBits) {
        return HalfFloats.floatToBf16(Float.intBitsToFloat(floatBits));
    }

    private static int u16(short s) {
        return s & 0xFFFF;
    }

    @Test
    void bf16TiesRoundToEven() {
        assertThat(u16(bf16(0x3F808000))).isEqualTo(0x3F80); // tie, even below
        assertThat(u16(bf16(0x3F818000))).isEqualTo(0x3F82); // tie, odd below: up to even
        assertThat(u16(bf16(0xBF808000))).isEqualTo(0xBF80);
        assertThat(u16(bf16(0xBF818000))).isEqualTo(0xBF82);
    }

    @Test
    void bf16RoundsToNearestOffTies() {
        assertThat(u16(bf16(0x3F808001))).isEqualTo(0x3F81);
        assertThat(u16(bf16(0x3F807FFF))).isEqualTo(0x3F80);
        assertThat(u16(bf16(0x3F80FFFF))).isEqualTo(0x3F81);
        assertThat(u16(bf16(0x3F7FFFFF))).isEqualTo(0x3F80); // carries into the exponent
        assertThat(u16(HalfFloats.floatToBf16(1f))).isEqualTo(0x3F80);
        assertThat(u16(HalfFloats.floatToBf16((float) Math.PI))).isEqualTo(0x4049);
    }

    @Test
    void bf16NaNStaysNaN() {
        for (int bits : new int[] {0x7FC00000, 0x7F800001, 0x7F80FFFF, 0x7FFFFFFF, 0xFF800001, 0xFFC00000}) {
            short b = bf16(bits);
            assertThat(Float.isNaN(HalfFloats.bf16ToFloat(b))).as("0x%08X", bits).isTrue();
            assertThat(b < 0).as("sign of 0x%08X", bits).isEqualTo(bits < 0);
        }
    }

    @Test
    void bf16InfinitiesAndOverflow() {
        assertThat(u16(HalfFloats.floatToBf16(Float.POSITIVE_INFINITY))).isEqualTo(0x7F80);
        assertThat(u16(HalfFloats.floatToBf16(Float.NEGATIVE_INFINITY))).isEqualTo(0xFF80);
        assertThat(u16(HalfFloats.floatToBf16(Float.MAX_VALUE))).isEqualTo(0x7F80);
        assertThat(u16(HalfFloats.floatToBf16(-Float.MAX_VALUE))).isEqualTo(0xFF80);
        assertThat(u16(bf16(0x7F7F7FFF))).isEqualTo(0x7F7F); // just below the tie: stays finite
        assertThat(HalfFloats.bf16ToFloat((short) 0x7F80)).isEqualTo(Float.POSITIVE_INFINITY);
    }

    @Test
    void bf16Subnormals() {
        assertThat(u16(bf16(0x00000001))).isEqualTo(0x0000);
        assertThat(u16(bf16(0x00008000))).isEqualTo(0x0000); // tie to even
        assertThat(u16(bf16(0x00018000))).isEqualTo(0x0002);
        assertThat(u16(bf16(0x00008001))).isEqualTo(0x0001);
        assertThat(u16(bf16(0x807F8000))).isEqualTo(0x8080); // largest subnormal rounds to the smallest normal
        assertThat(Float.floatToRawIntBits(HalfFloats.bf16ToFloat((short) 0x0001))).isEqualTo(0x00010000);
        assertThat(u16(HalfFloats.floatToBf16(-0f))).isEqualTo(0x8000);
    }

    @Test
    void bf16WideningIsExactForAllPatterns() {
        for (int bits = 0; bits < 65536; bits++) {
            short b = (short) bits;
            float f = HalfFloats.bf16ToFloat(b);
            assertThat(Float.floatToRawIntBits(f)).isEqualTo(bits << 16);
            if (Float.isNaN(f)) {
                assertThat(Float.isNaN(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(f)))).isTrue();
            } else if (HalfFloats.floatToBf16(f) != b) {
                throw new AssertionError(String.format("bf16 0x%04X does not round-trip", bits));
            }
        }
    }

    @Test
    void f16Values() {
        assertThat(u16(HalfFloats.floatToF16(1f / 3))).isEqualTo(0x3555);
        assertThat(u16(HalfFloats.floatToF16(65504f))).isEqualTo(0x7BFF);
        assertThat(u16(HalfFloats.floatToF16(65519f))).isEqualTo(0x7BFF);
        assertThat(u16(HalfFloats.floatToF16(65520f))).isEqualTo(0x7C00); // tie rounds to even: infinity
        assertThat(u16(HalfFloats.floatToF16(Float.MAX_VALUE))).isEqualTo(0x7C00);
        assertThat(u16(HalfFloats.floatToF16(Float.NEGATIVE_INFINITY))).isEqualTo(0xFC00);
        assertThat(u16(HalfFloats.floatToF16(0x1p-24f))).isEqualTo(0x0001);
        assertThat(u16(HalfFloats.floatToF16(0x1p-25f))).isEqualTo(0x0000); // tie to even
        assertThat(u16(HalfFloats.floatToF16(0x1.8p-25f))).isEqualTo(0x0001);
        assertThat(u16(HalfFloats.floatToF16(0x3p-25f))).isEqualTo(0x0002); // 1.5 ulp: tie to even
        assertThat(HalfFloats.f16ToFloat((short) 0x0001)).isEqualTo(0x1p-24f);
        assertThat(Float.isNaN(HalfFloats.f16ToFloat(HalfFloats.floatToF16(Float.NaN)))).isTrue();
    }

    @Test
    void f16WideningIsExactForAllPatterns() {
        for (int bits = 0; bits < 65536; bits++) {
            short h = (short) bits;
            float f = HalfFloats.f16ToFloat(h);
            if (Float.isNaN(f)) {
                assertThat(Float.isNaN(HalfFloats.f16ToFloat(HalfFloats.floatToF16(f)))).isTrue();
            } else if (HalfFloats.floatToF16(f) != h) {
                throw new AssertionError(String.format("f16 0x%04X does not round-trip", bits));
            }
        }
    }

    /** Float bits that hit every case: ties, carries, NaNs of both signs, infinities, subnormals, zeros, and random ones. */
    private static int[] awkwardBits(int count) {
        int[] special = {0x3F808000, 0x3F818000, 0xBF818000, 0x3F7FFFFF, 0x7FC00000, 0x7F800001, 0xFF800001, 0xFFC00000,
            0x7F800000, 0xFF800000, 0x7F7FFFFF, 0x7F7F7FFF, 0x00000001, 0x00008000, 0x00018000, 0x807F8000, 0, 0x80000000};
        java.util.SplittableRandom random = new java.util.SplittableRandom(3);
        int[] bits = new int[count];
        for (int i = 0; i < count; i++) bits[i] = i < special.length ? special[i] : random.nextInt();
        return bits;
    }

    @Test
    void theArrayFormsConvertEveryElementAsTheScalarFormsDo() {
        for (int count : new int[] {0, 1, 7, 15, 16, 17, 33, 100, 1031}) {           // ragged against every vector width
            int[] bits = awkwardBits(count);
            float[] floats = new float[count];
            for (int i = 0; i < count; i++) floats[i] = Float.intBitsToFloat(bits[i]);
            try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
                java.lang.foreign.MemorySegment halves = arena.allocate(2L * (count + 3));
                HalfFloats.floatsToBf16(floats, count, halves, 3);                   // from element 3: an odd byte offset
                float[] back = new float[count];
                HalfFloats.bf16sToFloats(halves, 3, back, count);
                for (int i = 0; i < count; i++) {
                    short got = halves.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 3 + i);
                    assertThat(u16(got)).as("count %d, element %d: 0x%08X", count, i, bits[i]).isEqualTo(u16(bf16(bits[i])));
                    assertThat(Float.floatToRawIntBits(back[i])).as("widened %d", i)
                            .isEqualTo(Float.floatToRawIntBits(HalfFloats.bf16ToFloat(got)));
                }
            }
        }
    }
}
