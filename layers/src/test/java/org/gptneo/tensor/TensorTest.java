package org.gptneo.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class TensorTest {
    @Test
    void allocateZeroFillsAndCloseFrees() {
        Tensor t = Tensor.allocate(DType.F32, 2, 3);
        assertThat(t.shape()).containsExactly(2, 3);
        assertThat(t.size()).isEqualTo(6);
        assertThat(t.data().byteSize()).isEqualTo(24);
        assertThat(t.data().address() % Tensor.ALIGNMENT).isZero();
        assertThat(t.toFloatArray()).containsOnly(0f);
        t.close();
        assertThatThrownBy(() -> t.getFloat(0)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void arenaTensorsIgnoreClose() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.of(arena, new float[] {1, 2}, 2);
            t.close();
            assertThat(t.getFloat(1)).isEqualTo(2f);
        }
    }

    @Test
    void scalarAndEmptyTensors() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor scalar = Tensor.of(arena, new float[] {5}, new int[0]);
            assertThat(scalar.rank()).isZero();
            assertThat(scalar.size()).isEqualTo(1);
            Tensor empty = Tensor.allocate(arena, DType.BF16, 0, 4);
            assertThat(empty.size()).isZero();
            assertThat(empty.data().byteSize()).isZero();
        }
    }

    @Test
    void reshapeInfersMinusOneAndSharesMemory() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.of(arena, new float[] {0, 1, 2, 3, 4, 5}, 2, 3);
            Tensor r = t.reshape(-1, 2);
            assertThat(r.shape()).containsExactly(3, 2);
            assertThat(t.reshape(6).shape()).containsExactly(6);
            assertThat(t.reshape(1, -1, 1).shape()).containsExactly(1, 6, 1);
            r.setFloat(5, 50f);
            assertThat(t.getFloat(5)).isEqualTo(50f);
            assertThat(t.dim(-1)).isEqualTo(3);
        }
    }

    @Test
    void rowsViewSharesMemory() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.of(arena, new float[] {0, 1, 2, 3, 4, 5}, 3, 2);
            Tensor mid = t.rows(1, 3);
            assertThat(mid.shape()).containsExactly(2, 2);
            assertThat(mid.toFloatArray()).containsExactly(2, 3, 4, 5);
            mid.setFloat(0, -2f);
            assertThat(t.getFloat(2)).isEqualTo(-2f);
            assertThat(t.rows(3, 3).size()).isZero();
            assertThatThrownBy(() -> t.rows(2, 4)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> t.rows(2, 1)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> t.rows(-1, 1)).isInstanceOf(IndexOutOfBoundsException.class);
        }
    }

    @Test
    void copyFromConvertsBetweenDtypes() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor f32 = Tensor.of(arena, new float[] {1f, 1f / 3, -2.5f, 65520f}, 4);
            Tensor bf16 = Tensor.allocate(arena, DType.BF16, 2, 2);
            bf16.copyFrom(f32);
            assertThat(bf16.toFloatArray()).containsExactly(
                    1f, HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(1f / 3)), -2.5f, 65536f);
            Tensor f16 = bf16.to(arena, DType.F16);
            assertThat(f16.dtype()).isEqualTo(DType.F16);
            assertThat(f16.getFloat(2)).isEqualTo(-2.5f);
            assertThat(f16.getFloat(3)).isEqualTo(Float.POSITIVE_INFINITY);
            Tensor ints = Tensor.ofInts(arena, new int[] {7, -8}, 2);
            Tensor fromInts = Tensor.allocate(arena, DType.F32, 2);
            fromInts.copyFrom(ints);
            assertThat(fromInts.toFloatArray()).containsExactly(7f, -8f);
            Tensor same = Tensor.allocate(arena, DType.F32, 4);
            same.copyFrom(f32);
            assertThat(same.toFloatArray()).isEqualTo(f32.toFloatArray());
            assertThatThrownBy(() -> same.copyFrom(ints)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> ints.setFloat(0, 1f)).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> f32.getInt(0)).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void badShapesAreRejected() {
        try (Arena arena = Arena.ofConfined()) {
            assertThatThrownBy(() -> Tensor.allocate(arena, DType.F32, 2, -1)).isInstanceOf(IllegalArgumentException.class);
            Tensor t = Tensor.allocate(arena, DType.F32, 2, 3);
            assertThatThrownBy(() -> t.reshape(4, 2)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> t.reshape(-1, -1)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> t.reshape(-1, 4)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> t.reshape(0, -1)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> t.reshape(-2, 3)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> Tensor.of(arena, new float[] {1, 2, 3}, 2, 2)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> Tensor.ofInts(arena, new int[] {1}, 2)).isInstanceOf(IllegalArgumentException.class);
            MemorySegment seg = arena.allocate(12);
            assertThatThrownBy(() -> Tensor.wrap(seg, DType.F32, 2, 2)).isInstanceOf(IllegalArgumentException.class);
            assertThat(Tensor.wrap(seg, DType.F32, 3).size()).isEqualTo(3);
        }
    }
}
