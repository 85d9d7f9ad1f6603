package org.gptneo.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link PlainSegments}: a mapping's memory as a plain native segment, with the mapping's contents, arena and access. */
class PlainSegmentsTest {
    @TempDir
    Path dir;

    @Test
    void aReadOnlyMappingBecomesAPlainReadOnlySegmentOfTheSameArena() throws IOException {
        Path file = dir.resolve("bytes");
        byte[] bytes = new byte[10_000];
        for (int i = 0; i < bytes.length; i++) bytes[i] = (byte) (i * 31);
        Files.write(file, bytes);
        MemorySegment kept;
        try (Arena arena = Arena.ofShared(); FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, bytes.length, arena).asSlice(8);
            MemorySegment plain = PlainSegments.of(mapped, arena);

            assertThat(plain.getClass()).isEqualTo(arena.allocate(8).getClass()).isNotEqualTo(mapped.getClass());
            assertThat(plain.address()).isEqualTo(mapped.address());
            assertThat(plain.byteSize()).isEqualTo(mapped.byteSize());
            assertThat(plain.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(mapped.toArray(ValueLayout.JAVA_BYTE));
            assertThat(plain.isReadOnly()).isTrue();
            assertThatThrownBy(() -> plain.set(ValueLayout.JAVA_BYTE, 0, (byte) 1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("read-only");
            kept = plain;
        }
        assertThatThrownBy(() -> kept.get(ValueLayout.JAVA_BYTE, 0)).as("gone with the arena").isInstanceOf(IllegalStateException.class);
    }

    @Test
    void writableAndHeapSegmentsKeepTheirAccess() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment plain = PlainSegments.of(arena.allocate(64), arena);
            plain.set(ValueLayout.JAVA_BYTE, 3, (byte) 9);
            assertThat(plain.get(ValueLayout.JAVA_BYTE, 3)).isEqualTo((byte) 9);
            MemorySegment heap = MemorySegment.ofArray(new float[4]);
            assertThat(PlainSegments.of(heap, arena)).isSameAs(heap);
        }
    }
}
