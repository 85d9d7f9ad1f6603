package org.gptneo.cuda.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import java.util.function.LongUnaryOperator;
import org.junit.jupiter.api.Test;

/** The caching allocator over a runtime that counts its mallocs and frees. */
class CachingAllocatorTest {
    private static final long KIB = 1024, MIB = 1024 * KIB;

    @Test
    void sizeClassesAre512BytesUpTo1MiBThenEighthsOfAnOctave() {
        assertThat(CachingAllocator.sizeClass(1)).isEqualTo(512);
        assertThat(CachingAllocator.sizeClass(512)).isEqualTo(512);
        assertThat(CachingAllocator.sizeClass(513)).isEqualTo(1024);
        assertThat(CachingAllocator.sizeClass(MIB)).isEqualTo(MIB);
        assertThat(CachingAllocator.sizeClass(MIB + 1)).isEqualTo(MIB + 128 * KIB);
        assertThat(CachingAllocator.sizeClass(2 * MIB)).isEqualTo(2 * MIB);
        assertThat(CachingAllocator.sizeClass(2 * MIB + 1)).isEqualTo(2 * MIB + 256 * KIB);
        assertThat(CachingAllocator.sizeClass(3L << 30)).isEqualTo(3L << 30);
        assertThatThrownBy(() -> CachingAllocator.sizeClass(0)).hasMessage("a device block of 0 bytes");
    }

    @Test
    void roundingWastesLessThanAnEighthAboveTheSmallClasses() {
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 10_000; i++) {
            long bytes = random.nextLong(1, 1L << 36);
            long size = CachingAllocator.sizeClass(bytes);
            assertThat(size).isGreaterThanOrEqualTo(bytes).isEqualTo(CachingAllocator.sizeClass(size));
            assertThat(size % 512).isZero();
            if (bytes > MIB) {
                assertThat((double) (size - bytes)).isLessThan(bytes / 8.0);
            }
        }
    }

    @Test
    void aFreedBlockServesTheNextRequestOfItsClassWithoutADeviceCall() {
        CountingRuntime device = new CountingRuntime(MIB);
        CachingAllocator memory = new CachingAllocator(device);
        long first = memory.allocate(1000);
        memory.free(first);
        assertThat(device.frees).isZero();

        assertThat(memory.allocate(700)).isEqualTo(first);          // same class (1024)
        assertThat(memory.allocate(700)).isNotEqualTo(first);       // the cached one is taken
        long bigger = memory.allocate(2000);
        assertThat(bigger).isNotEqualTo(first);
        assertThat(device.mallocs).isEqualTo(3);
        assertThat(memory.stats()).isEqualTo(new MemoryStats(4096, 4096, 4096, 3, 1));
    }

    @Test
    void statsCountInUseReservedAndThePeak() {
        CountingRuntime device = new CountingRuntime(MIB);
        CachingAllocator memory = new CachingAllocator(device);
        long a = memory.allocate(100), b = memory.allocate(3000);   // 512 + 3072
        memory.free(b);
        assertThat(memory.stats()).isEqualTo(new MemoryStats(512, 3584, 3584, 2, 0));
        assertThat(memory.stats().cached()).isEqualTo(3072);
        memory.free(a);
        memory.allocate(50);
        assertThat(memory.stats()).isEqualTo(new MemoryStats(512, 3584, 3584, 2, 1));
    }

    @Test
    void emptyCacheFreesCachedBlocksAndKeepsTheOnesInUse() {
        CountingRuntime device = new CountingRuntime(MIB);
        CachingAllocator memory = new CachingAllocator(device);
        long kept = memory.allocate(100);
        memory.free(memory.allocate(5000));
        memory.free(memory.allocate(100_000));
        memory.emptyCache();
        assertThat(device.frees).isEqualTo(2);
        assertThat(device.allocated()).isEqualTo(512);
        assertThat(memory.stats()).isEqualTo(new MemoryStats(512, 512, 512 + 100_352, 3, 0));
        memory.free(kept);
        assertThat(memory.allocate(1)).isEqualTo(kept);
    }

    @Test
    void outOfMemoryReleasesTheCacheAndTriesOnceMore() {
        CountingRuntime device = new CountingRuntime(4 * KIB);
        CachingAllocator memory = new CachingAllocator(device);
        memory.free(memory.allocate(2048));
        long p = memory.allocate(3000);   // 2048 cached + 3072 > 4096: fails, then fits once the cache is gone
        assertThat(device.frees).isEqualTo(1);
        assertThat(device.mallocs).isEqualTo(2);
        assertThat(memory.stats()).isEqualTo(new MemoryStats(3072, 3072, 3072, 2, 0));
        memory.free(p);
    }

    @Test
    void outOfMemoryAfterTheRetryNamesTheRequestAndTheDevicesMemory() {
        CountingRuntime device = new CountingRuntime(4 * KIB);
        CachingAllocator memory = new CachingAllocator(device);
        memory.allocate(2048);
        memory.free(memory.allocate(1024));
        assertThatThrownBy(() -> memory.allocate(8000))
                .isInstanceOf(DeviceOutOfMemoryException.class)
                .hasMessage("out of device memory: cannot allocate 7.81 KiB (8000 bytes) on counting device: 2.00 KiB free"
                        + " of 4.00 KiB; this process holds 2.00 KiB in tensors after releasing its cache")
                .hasCauseInstanceOf(DeviceOutOfMemoryException.class);
        assertThat(device.frees).isEqualTo(1);
        assertThat(memory.stats()).isEqualTo(new MemoryStats(2048, 2048, 3072, 2, 0));
    }

    @Test
    void withNothingCachedOutOfMemoryIsReportedAtOnce() {
        CountingRuntime device = new CountingRuntime(4 * KIB);
        CachingAllocator memory = new CachingAllocator(device);
        assertThatThrownBy(() -> memory.allocate(5000)).isInstanceOf(DeviceOutOfMemoryException.class)
                .hasMessageStartingWith("out of device memory: cannot allocate 4.88 KiB (5000 bytes)");
        assertThat(device.mallocs).isZero();
        assertThat(memory.stats()).isEqualTo(new MemoryStats(0, 0, 0, 0, 0));
    }

    @Test
    void exactSizeClassesReuseOnlyBlocksOfTheSameSize() {
        CountingRuntime device = new CountingRuntime(MIB);
        CachingAllocator memory = new CachingAllocator(device, LongUnaryOperator.identity());
        long p = memory.allocate(100);
        memory.free(p);
        assertThat(memory.allocate(99)).isNotEqualTo(p);
        assertThat(memory.allocate(100)).isEqualTo(p);
        assertThat(memory.stats()).isEqualTo(new MemoryStats(199, 199, 199, 2, 1));
    }

    @Test
    void freeingAnUnknownOrFreedBlockIsRefused() {
        CachingAllocator memory = new CachingAllocator(new CountingRuntime(MIB));
        long p = memory.allocate(10);
        memory.free(p);
        assertThatThrownBy(() -> memory.free(p)).hasMessage("free of 0x10000: not a block in use");
        assertThatThrownBy(() -> memory.free(0x1234)).hasMessage("free of 0x1234: not a block in use");
    }

    @Test
    void bytesAreWrittenWithBinaryUnits() {
        assertThat(CachingAllocator.bytes(17)).isEqualTo("17 B");
        assertThat(CachingAllocator.bytes(4096)).isEqualTo("4.00 KiB");
        assertThat(CachingAllocator.bytes(312L << 20)).isEqualTo("312 MiB");
        assertThat(CachingAllocator.bytes(3L << 29)).isEqualTo("1.50 GiB");
    }
}
