package org.gptneo.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.util.concurrent.atomic.AtomicReference;
import org.gptneo.cuda.emulator.EmulatedRuntime;
import org.gptneo.cuda.runtime.DeviceOutOfMemoryException;
import org.gptneo.cuda.runtime.GemmCall;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The backend's device memory through its caching allocator, on the emulated runtime. */
class CudaBackendMemoryTest {
    private final AtomicReference<EmulatedRuntime> runtime = new AtomicReference<>();

    @BeforeEach
    void needsTheEmulator() {
        assumeTrue(EmulatedRuntime.unavailableReason() == null, "the kernel emulator needs g++");
    }

    private CudaBackend open(long capacity) {
        return CudaBackend.open(0, () -> {
            runtime.set(EmulatedRuntime.open(capacity));
            return runtime.get();
        }, GemmCall.Precision.F32);
    }

    @Test
    void aReusedBlockIsZeroFilledAgain() {
        try (CudaBackend backend = open(EmulatedRuntime.DEFAULT_CAPACITY)) {
            long address;
            try (Arena arena = Arena.ofConfined()) {
                Tensor t = backend.allocate(arena, DType.F32, 5, 7);   // [5, 7]
                backend.fill(t, 3.5f);
                address = t.memory().address();
            }
            try (Arena arena = Arena.ofConfined()) {
                Tensor again = backend.allocate(arena, DType.F32, 6, 5);   // [6, 5]: the same 512-byte class
                assertThat(again.memory().address()).isEqualTo(address);
                Tensor host = backend.download(again, arena);
                for (long i = 0; i < host.size(); i++) {
                    assertThat(host.getFloat(i)).as("element %d", i).isZero();
                }
            }
            assertThat(backend.memoryStats().reuses()).isEqualTo(1);
            assertThat(backend.memoryStats().deviceAllocations()).isEqualTo(1);
        }
    }

    @Test
    void closedArenasReturnTheirMemoryToTheCacheAndEmptyCacheToTheDevice() {
        try (CudaBackend backend = open(EmulatedRuntime.DEFAULT_CAPACITY)) {
            try (Arena arena = Arena.ofConfined()) {
                backend.allocate(arena, DType.F32, 1000);    // 4000 bytes: 4096
                backend.allocate(arena, DType.I32, 3);       // 12 bytes: 512
                assertThat(backend.memoryStats().inUse()).isEqualTo(4608);
            }
            assertThat(backend.memoryStats()).satisfies(s -> {
                assertThat(s.inUse()).isZero();
                assertThat(s.reserved()).isEqualTo(4608);
                assertThat(s.peakInUse()).isEqualTo(4608);
            });
            int live = runtime.get().liveAllocations();
            backend.emptyCache();
            assertThat(backend.memoryStats().reserved()).isZero();
            assertThat(runtime.get().liveAllocations()).isEqualTo(live - 2);
        }
    }

    @Test
    void outOfMemoryReleasesTheCacheRetriesThenNamesTheSizeAndTheDevicesMemory() {
        try (CudaBackend backend = open(1 << 20)) {
            try (Arena arena = Arena.ofConfined()) {
                backend.allocate(arena, DType.F32, 150_000);   // 600,000 bytes, cached when the arena closes
            }
            try (Arena arena = Arena.ofConfined()) {
                Tensor t = backend.allocate(arena, DType.F32, 200_000);   // fits only once the cache is released
                assertThat(backend.download(t, arena).getFloat(199_999)).isZero();
                assertThat(backend.memoryStats().reserved()).isEqualTo(800_256);
                assertThatThrownBy(() -> backend.allocate(arena, DType.F32, 100_000))
                        .isInstanceOf(DeviceOutOfMemoryException.class)
                        .hasMessage("out of device memory: cannot allocate 391 KiB (400000 bytes) on emulator (host C++ build"
                                + " of the kernels): 243 KiB free of 1.00 MiB; this process holds 782 KiB in tensors after"
                                + " releasing its cache");
            }
        }
    }
}
