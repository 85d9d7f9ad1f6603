package org.gptneo.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsRoundTripTest {
    @TempDir
    Path dir;

    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void closeArena() {
        arena.close();
    }

    private Tensor floats(DType dtype, float[] values, int... shape) {
        Tensor t = Tensor.allocate(arena, dtype, shape);
        t.copyFrom(values);
        return t;
    }

    private Map<String, Tensor> sample() {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("h.0.mlp.weight", floats(DType.F32, new float[] {1, -2, 3.5f, Float.NaN, Float.POSITIVE_INFINITY, -0f}, 2, 3));
        tensors.put("half", floats(DType.F16, new float[] {0.5f, -1.25f, 65504f, 1e-7f}, 4));
        tensors.put("brain", floats(DType.BF16, new float[] {1f, 3.1415927f, -1e30f, 0f}, 2, 2));
        tensors.put("ids", Tensor.ofInts(arena, new int[] {0, 50256, -100, Integer.MAX_VALUE, Integer.MIN_VALUE}, 5));
        tensors.put("scalar", floats(DType.F32, new float[] {42f}));
        tensors.put("empty", Tensor.allocate(arena, DType.F32, 0, 3));
        tensors.put("empty_bf16", Tensor.allocate(arena, DType.BF16, 0));
        return tensors;
    }

    private static long headerLength(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        return ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    private List<Path> listDir() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }

    @Test
    void roundTripsValuesShapesNamesAndMetadata() {
        Path file = dir.resolve("model.safetensors");
        Map<String, Tensor> tensors = sample();
        SafeTensorsWriter.write(file, tensors, Map.of("format", "pt", "note", "ünïcödé"));

        try (SafeTensorsFile st = SafeTensorsFile.open(file)) {
            assertThat(st.path()).isEqualTo(file);
            // writer order: element size descending, then name; names() follows the offsets
            assertThat(st.names()).containsExactly(
                    "empty", "h.0.mlp.weight", "ids", "scalar", "brain", "empty_bf16", "half");
            assertThat(st.metadata()).containsExactlyInAnyOrderEntriesOf(Map.of("format", "pt", "note", "ünïcödé"));
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                Tensor expected = e.getValue();
                String name = e.getKey();
                assertThat(st.contains(name)).isTrue();
                assertThat(st.dtypeName(name)).isEqualTo(expected.dtype().safetensorsName());
                long[] shape = st.shape(name);
                assertThat(shape).containsExactly(java.util.Arrays.stream(expected.shape()).asLongStream().toArray());
                Tensor actual = st.tensor(name);
                assertThat(actual.dtype()).isEqualTo(expected.dtype());
                assertThat(actual.shape()).isEqualTo(expected.shape());
                assertThat(actual.data().isNative()).as("zero-copy view of the mapping").isTrue();
                if (expected.dtype() == DType.I32) {
                    assertThat(actual.toIntArray()).isEqualTo(expected.toIntArray());
                } else {
                    assertThat(actual.toFloatArray()).isEqualTo(expected.toFloatArray());
                }
                assertThat(actual.data().mismatch(expected.data())).isEqualTo(-1L);
            }
            assertThat(st.contains("missing")).isFalse();
            assertThat(st.tensor("scalar").rank()).isZero();
            assertThat(st.tensor("scalar").getFloat(0)).isEqualTo(42f);
        }
    }

    @Test
    void headerIsSpacePaddedSoTheDataStartsOnA64ByteBoundary() throws IOException {
        Path file = dir.resolve("a.safetensors");
        for (String name : List.of("x", "xy", "xyz", "wxyz", "vwxyz", "uvwxyz", "tuvwxyz", "stuvwxyz")) {
            SafeTensorsWriter.write(file, Map.of(name, floats(DType.F32, new float[] {1}, 1)), Map.of());
            long n = headerLength(file);
            assertThat(n % 8).as("header length for name %s (the reference writer's alignment)", name).isZero();
            assertThat((8 + n) % 64).as("data offset for name %s", name).isZero();
            byte[] bytes = Files.readAllBytes(file);
            assertThat(bytes).hasSize((int) (8 + n + 4));
            String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
            assertThat(header).startsWith("{").doesNotContain("__metadata__");
            assertThat(header.stripTrailing()).endsWith("}");
            assertThat(header.substring(header.stripTrailing().length())).matches(" *");
        }
    }

    @Test
    void metadataInAnyOrderGivesTheSameBytes() throws IOException {
        Map<String, String> oneOrder = new LinkedHashMap<>(), otherOrder = new LinkedHashMap<>();
        oneOrder.put("step", "3");
        oneOrder.put("format", "gptneo-adamw/1");
        otherOrder.put("format", "gptneo-adamw/1");
        otherOrder.put("step", "3");
        Path a = dir.resolve("a.safetensors"), b = dir.resolve("b.safetensors");
        SafeTensorsWriter.write(a, Map.of("x", floats(DType.F32, new float[] {1, 2}, 2)), oneOrder);
        SafeTensorsWriter.write(b, Map.of("x", floats(DType.F32, new float[] {1, 2}, 2)), otherOrder);
        assertThat(Files.readAllBytes(a)).isEqualTo(Files.readAllBytes(b));
    }

    @Test
    void emptyCheckpointRoundTrips() throws IOException {
        Path file = dir.resolve("empty.safetensors");
        SafeTensorsWriter.write(file, Map.of(), null);
        assertThat(headerLength(file)).as("\"{}\" padded so the data starts at byte 64").isEqualTo(56);
        try (SafeTensorsFile st = SafeTensorsFile.open(file)) {
            assertThat(st.names()).isEmpty();
            assertThat(st.metadata()).isEmpty();
        }
    }

    @Test
    void largeTensorIsWrittenInChunks() {
        Path file = dir.resolve("big.safetensors");
        int n = 3_000_000; // 12 MB of F32: several 4 MiB chunks
        Tensor big = Tensor.allocate(arena, DType.F32, n);
        for (int i = 0; i < n; i++) {
            big.setFloat(i, i * 0.5f);
        }
        SafeTensorsWriter.write(file, Map.of("big", big, "small", floats(DType.BF16, new float[] {2f}, 1)), Map.of());
        try (SafeTensorsFile st = SafeTensorsFile.open(file)) {
            assertThat(st.tensor("big").data().mismatch(big.data())).isEqualTo(-1L);
            assertThat(st.tensor("small").getFloat(0)).isEqualTo(2f);
        }
    }

    @Test
    void writeLeavesNoTemporaryFileAndReplacesTheTarget() throws IOException {
        Path file = dir.resolve("model.safetensors");
        SafeTensorsWriter.write(file, Map.of("a", floats(DType.F32, new float[] {1, 2}, 2)), Map.of());
        SafeTensorsWriter.write(file, Map.of("b", floats(DType.F32, new float[] {3}, 1)), Map.of("k", "v"));
        assertThat(listDir()).containsExactly(file);
        try (SafeTensorsFile st = SafeTensorsFile.open(file)) {
            assertThat(st.names()).containsExactly("b");
            assertThat(st.metadata()).containsEntry("k", "v");
        }
    }

    @Test
    void failedWriteLeavesThePreviousFileUntouched() throws IOException {
        Path file = dir.resolve("model.safetensors");
        SafeTensorsWriter.write(file, Map.of("a", floats(DType.F32, new float[] {1, 2}, 2)), Map.of());
        byte[] before = Files.readAllBytes(file);

        Tensor freed = Tensor.allocate(DType.F32, 1000);
        freed.close(); // its segment is gone: copying it fails midway through the write
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("a", floats(DType.F32, new float[] {5, 6}, 2));
        tensors.put("z", freed);
        assertThatThrownBy(() -> SafeTensorsWriter.write(file, tensors, Map.of()))
                .isInstanceOf(IllegalStateException.class);

        assertThat(Files.readAllBytes(file)).isEqualTo(before);
        assertThat(listDir()).containsExactly(file);
    }

    @Test
    void failedRenameReportsTheFileAndCleansUp() throws IOException {
        Path target = dir.resolve("taken.safetensors");
        Files.createDirectory(target);
        Files.writeString(target.resolve("keep.txt"), "x"); // a non-empty folder cannot be replaced
        assertThatThrownBy(() -> SafeTensorsWriter.write(
                        target, Map.of("a", floats(DType.F32, new float[] {1}, 1)), Map.of()))
                .isInstanceOf(CheckpointException.class)
                .hasMessageStartingWith("taken.safetensors: cannot write");
        assertThat(listDir()).containsExactly(target);
        assertThat(Files.readString(target.resolve("keep.txt"))).isEqualTo("x");
    }

    @Test
    void metadataKeyIsNotATensorName() {
        assertThatThrownBy(() -> SafeTensorsWriter.write(dir.resolve("m.safetensors"),
                        Map.of("__metadata__", floats(DType.F32, new float[] {1}, 1)), Map.of()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void viewsMustNotBeUsedAfterClose() {
        Path file = dir.resolve("c.safetensors");
        SafeTensorsWriter.write(file, Map.of("a", floats(DType.F32, new float[] {1}, 1)), Map.of());
        SafeTensorsFile st = SafeTensorsFile.open(file);
        Tensor view = st.tensor("a");
        st.close();
        st.close(); // idempotent
        assertThatThrownBy(() -> view.getFloat(0)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> st.tensor("a")).isInstanceOf(IllegalStateException.class);
    }
}
