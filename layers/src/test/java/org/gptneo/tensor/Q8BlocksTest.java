package org.gptneo.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The Q8 storage format: block layout, symmetric rounding, error bound, and what a Q8 tensor refuses. */
class Q8BlocksTest {
    @Test
    void aBlockStoresRoundedMultiplesOfItsScale() {
        try (Arena arena = Arena.ofConfined()) {
            float[] values = new float[32];
            values[0] = 12.7f;             // the largest magnitude: q = 127
            values[1] = -12.7f;            // q = -127
            values[2] = 0.25f;             // 2.5 scales: half to even, q = 2
            values[3] = 0.35f;             // 3.5 scales: q = 4
            values[4] = 0.04f;             // 0.4 scales: q = 0
            Tensor q8 = Tensor.of(arena, values, 1, 32).to(arena, DType.Q8);
            float scale = 12.7f / 127f;
            assertThat(q8.data().byteSize()).isEqualTo(Q8Blocks.BLOCK_BYTES);
            assertThat(q8.data().get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 127);
            assertThat(q8.toFloatArray()).startsWith(127 * scale, -127 * scale, 2 * scale, 4 * scale, 0f);
        }
    }

    @Test
    void everyValueIsWithinHalfAScaleOfItsOriginal() {
        Random random = new Random(7);
        float[] values = new float[4 * 96];
        for (int i = 0; i < values.length; i++) values[i] = (float) (random.nextGaussian() * (1 + i % 5));
        try (Arena arena = Arena.ofConfined()) {
            Tensor f32 = Tensor.of(arena, values, 4, 96);
            float[] back = f32.to(arena, DType.Q8).toFloatArray();
            for (int b = 0; b < values.length / 32; b++) {
                float max = 0;
                for (int i = 0; i < 32; i++) max = Math.max(max, Math.abs(values[b * 32 + i]));
                float halfScale = max / 127f / 2;
                for (int i = b * 32; i < b * 32 + 32; i++) {
                    assertThat(Math.abs(back[i] - values[i])).as("element %d", i).isLessThanOrEqualTo(halfScale * 1.0001f);
                }
            }
        }
    }

    @Test
    void theVectorQuantizerWritesTheSameBytesAsTheReadableOne() {
        Random random = new Random(11);
        int blocks = 200;
        float[] values = new float[blocks * 32];
        for (int i = 0; i < values.length; i++) {
            int kind = i / 32 % 4;                  // gaussian, ties (k + 0.5 scales), tiny, zero blocks
            values[i] = switch (kind) {
                case 0 -> (float) random.nextGaussian();
                case 1 -> i % 32 == 0 ? 127f : random.nextInt(-127, 127) + 0.5f;
                case 2 -> (float) (random.nextGaussian() * 1e-30);
                default -> 0f;
            };
        }
        try (Arena arena = Arena.ofConfined()) {
            var readable = arena.allocate(blocks * Q8Blocks.BLOCK_BYTES);
            var fast = arena.allocate(blocks * Q8Blocks.BLOCK_BYTES);
            for (int b = 0; b < blocks; b++) Q8Blocks.quantize(values, b * 32, readable, b);
            Q8Blocks.quantizeFast(values, blocks, fast, 0);
            assertThat(fast.mismatch(readable)).isEqualTo(-1L);
        }
    }

    @Test
    void stridedAndHalfPrecisionSourcesQuantizeLikeDenseF32() {
        float[] values = new float[4 * 96];
        for (int i = 0; i < values.length; i++) values[i] = (float) Math.sin(i * 0.37) * (1 + i % 7);
        try (Arena arena = Arena.ofConfined()) {
            Tensor wide = Tensor.of(arena, values, 4, 96);
            Tensor strided = wide.slice(1, 32, 96);                   // [4, 64] with row stride 96
            Tensor dense = Tensor.allocate(arena, DType.F32, 4, 64);
            dense.copyFrom(strided);
            assertThat(strided.isContiguous()).isFalse();
            assertThat(strided.to(arena, DType.Q8).toFloatArray()).containsExactly(dense.to(arena, DType.Q8).toFloatArray());
            Tensor bf16 = wide.to(arena, DType.BF16);
            assertThat(bf16.to(arena, DType.Q8).toFloatArray()).containsExactly(bf16.to(arena, DType.F32).to(arena, DType.Q8).toFloatArray());
        }
    }

    @Test
    void anAllZeroBlockHasScaleZeroAndConvertsBackExactly() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor q8 = Tensor.allocate(arena, DType.F32, 2, 32).to(arena, DType.Q8);
            assertThat(q8.toFloatArray()).containsOnly(0f);
            assertThat(q8.to(arena, DType.BF16).toFloatArray()).containsOnly(0f);
        }
    }

    @Test
    void wholeRowsCanBeCutButNotOtherSlices() {
        float[] values = new float[3 * 64];
        for (int i = 0; i < values.length; i++) values[i] = i;
        try (Arena arena = Arena.ofConfined()) {
            Tensor q8 = Tensor.of(arena, values, 3, 64).to(arena, DType.Q8);
            Tensor middle = q8.rows(1, 2);
            assertThat(middle.data().byteSize()).isEqualTo(2L * Q8Blocks.BLOCK_BYTES);
            assertThat(middle.getFloat(0)).isEqualTo(q8.getFloat(64));
            assertThatThrownBy(() -> q8.slice(1, 0, 32)).hasMessageContaining("whole rows only");
            assertThatThrownBy(() -> q8.setFloat(0, 1f)).hasMessageContaining("a block at a time");
            assertThatThrownBy(() -> DType.Q8.byteSize()).hasMessageContaining("blocks of 32");
        }
    }

    @Test
    void shapesAndValuesQ8CannotHoldAreRefused() {
        try (Arena arena = Arena.ofConfined()) {
            assertThatThrownBy(() -> Tensor.allocate(arena, DType.Q8, 4, 33))
                    .hasMessage("Q8 stores rows in blocks of 32 elements: shape [4, 33] needs a last dimension that is a multiple of 32");
            float[] values = new float[32];
            values[5] = Float.NaN;
            Tensor f32 = Tensor.of(arena, values, 32);
            assertThatThrownBy(() -> f32.to(arena, DType.Q8)).hasMessage("Q8 cannot hold the value NaN");
        }
    }
}
