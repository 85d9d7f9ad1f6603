package org.gptneo.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** {@link HugePages}: zeroed, writable memory of the size asked, on 2 MiB boundaries on Linux, gone with its arena. */
class HugePagesTest {

    @Test
    void largeAllocationsAreZeroedAlignedAndFreedWithTheirArena() {
        boolean linux = System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT).contains("linux");
        assertThat(HugePages.available()).as("Linux with native access (the tests enable it)").isEqualTo(linux);
        MemorySegment kept;
        try (Arena arena = Arena.ofShared()) {
            long bytes = HugePages.MIN_BYTES + 12_345;
            MemorySegment m = HugePages.allocate(arena, bytes);
            assertThat(m.byteSize()).isEqualTo(bytes);
            if (linux) assertThat(m.address() % (2L << 20)).isZero();
            for (long o = 0; o < bytes; o += 4093) assertThat(m.get(ValueLayout.JAVA_BYTE, o)).isZero();
            m.fill((byte) 7);
            assertThat(m.get(ValueLayout.JAVA_BYTE, bytes - 1)).isEqualTo((byte) 7);
            kept = m;
        }
        assertThatThrownBy(() -> kept.get(ValueLayout.JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void smallAllocationsComeFromTheArena() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = HugePages.allocate(arena, 1000);
            assertThat(m.byteSize()).isEqualTo(1000);
            assertThat(m.address() % 64).isZero();
            assertThat(m.isAccessibleBy(Thread.currentThread())).isTrue();
        }
    }

    @Test
    void anArenaOverAnotherTakesItsAllocationsFromHugePagesAndClosesItsOwner() {
        boolean linux = System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT).contains("linux");
        Arena owner = Arena.ofShared();
        MemorySegment large, small, aligned;
        try (Arena arena = HugePages.over(owner)) {
            assertThat(arena.scope()).isEqualTo(owner.scope());
            large = Tensor.allocate(arena, DType.F32, 1024, 1025).data();   // just over MIN_BYTES
            if (linux) assertThat(large.address() % (2L << 20)).as("a huge-page mapping").isZero();
            for (long o = 0; o < large.byteSize(); o += 4093) assertThat(large.get(ValueLayout.JAVA_BYTE, o)).isZero();
            small = arena.allocate(100);
            MemorySegment next = arena.allocate(768 * 768 * 4L);           // a 125M projection: the same chunk
            aligned = arena.allocate(HugePages.MIN_BYTES, 4096);
            assertThat(small.address() % 64).isZero();
            assertThat(next.address() % 64).isZero();
            assertThat(aligned.address() % 4096).isZero();
            if (linux) {
                assertThat(small.address() % (2L << 20)).as("the first in a huge-page chunk").isZero();
                assertThat(next.address()).as("right after the first, 64-byte aligned").isEqualTo(small.address() + 128);
            }
            for (long o = 0; o < next.byteSize(); o += 4093) assertThat(next.get(ValueLayout.JAVA_BYTE, o)).isZero();
            small.fill((byte) 1);
            assertThat(next.get(ValueLayout.JAVA_BYTE, 0)).as("neighbours do not overlap").isZero();
            long filled = 0;                                                   // small allocations past one chunk
            while (filled <= HugePages.CHUNK_BYTES) {
                MemorySegment more = arena.allocate(HugePages.MIN_BYTES - 64);
                more.set(ValueLayout.JAVA_BYTE, more.byteSize() - 1, (byte) 2);
                filled += more.byteSize();
            }
        }
        assertThat(owner.scope().isAlive()).as("closing it closes the owner").isFalse();
        for (MemorySegment m : new MemorySegment[] {large, small, aligned}) {
            assertThatThrownBy(() -> m.get(ValueLayout.JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
        }
    }
}
