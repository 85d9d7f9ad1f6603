package org.gptneo.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SafeTensorsFile#readInto}: reading a tensor in chunks and converting each gives the bytes
 * converting the mapped view gives, for every stored and target dtype, across chunk boundaries (a
 * tensor of 1025 × 1024 elements is two chunks of 2^20 and a last one of 1024).
 */
class SafeTensorsReadIntoTest {
    private static final int ROWS = 1025, COLS = 1024;

    @Test
    void chunkedReadsConvertAsTheMappedViewDoes(@TempDir Path dir) {
        Path file = dir.resolve("model.safetensors");
        try (Arena arena = Arena.ofShared()) {
            Tensor f32 = Tensor.allocate(arena, DType.F32, ROWS, COLS);
            SplittableRandom random = new SplittableRandom(9);
            for (long i = 0; i < f32.size(); i++) f32.setFloat(i, (float) random.nextGaussian());
            Map<String, Tensor> stored = new LinkedHashMap<>();
            stored.put("f32", f32);
            stored.put("f16", f32.to(arena, DType.F16));
            stored.put("bf16", f32.to(arena, DType.BF16));
            stored.put("ids", Tensor.ofInts(arena, new int[] {1, 2, 3}, 3));
            SafeTensorsWriter.write(file, stored, Map.of());
        }
        try (SafeTensorsFile st = SafeTensorsFile.open(file); Arena arena = Arena.ofConfined()) {
            for (String name : new String[] {"f32", "f16", "bf16"}) {
                for (DType target : new DType[] {DType.F32, DType.F16, DType.BF16, DType.Q8}) {
                    Tensor read = Tensor.allocate(arena, target, ROWS, COLS);
                    st.readInto(name, read);
                    Tensor expected = st.tensor(name).to(arena, target);
                    assertThat(MemorySegment.mismatch(read.data(), 0, read.data().byteSize(), expected.data(), 0,
                            expected.data().byteSize())).as("%s into %s", name, target).isEqualTo(-1);
                }
            }
            assertThatThrownBy(() -> st.readInto("ids", Tensor.allocate(arena, DType.F32, 3)))
                    .isInstanceOf(CheckpointException.class).hasMessage("model.safetensors: tensor 'ids' has dtype I32, not a floating-point type");
            assertThatThrownBy(() -> st.readInto("f32", Tensor.allocate(arena, DType.F32, 5)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("cannot copy f32 (1049600 elements) into");
        }
    }
}
