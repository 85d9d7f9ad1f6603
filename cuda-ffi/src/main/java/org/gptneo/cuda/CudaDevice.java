package org.gptneo.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.gptneo.cuda.runtime.CachingAllocator;
import org.gptneo.cuda.runtime.DeviceRuntime;
import org.gptneo.cuda.runtime.KernelArgs;
import org.gptneo.cuda.runtime.Launch;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Device;
import org.gptneo.tensor.Tensor;

/**
 * One GPU as the kernel classes see it: its runtime, its tensors' addresses, memory tied to arenas
 * (from its {@link CachingAllocator}), and small reads of single values. Everything here runs on the
 * device thread (the backend's methods make sure of it).
 */
final class CudaDevice {
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final DeviceRuntime runtime;
    private final CachingAllocator memory;
    private final Device device;
    private final DeviceThread thread;

    CudaDevice(DeviceRuntime runtime, CachingAllocator memory, Device device, DeviceThread thread) {
        this.runtime = runtime;
        this.memory = memory;
        this.device = device;
        this.thread = thread;
    }

    DeviceRuntime runtime() {
        return runtime;
    }

    /** Where tensors' memory comes from and goes back to. */
    CachingAllocator memory() {
        return memory;
    }

    Device device() {
        return device;
    }

    /** The device address of {@code t}'s first element; refuses a tensor of another device. */
    long address(Tensor t) {
        if (!t.device().equals(device)) {
            throw new IllegalArgumentException("the cuda backend got " + t + ", not one of its tensors (missing upload?)");
        }
        return t.memory().address();
    }

    /** A zero-filled tensor in device memory, freed when {@code arena} closes (for the device thread's own arenas). */
    Tensor allocate(Arena arena, DType dtype, int... shape) {
        long bytes = dtype.bytes(Tensor.elementCount(shape));
        return wrap(allocateZeroed(bytes), bytes, arena, dtype, shape);
    }

    /**
     * {@code bytes} of zero-filled device memory (at least one byte, so every tensor has an address):
     * a block from the cache, or a new one, cleared by a memset on the stream either way.
     */
    long allocateZeroed(long bytes) {
        long pointer = memory.allocate(Math.max(1, bytes));
        runtime.memset(pointer, 0, Math.max(1, bytes));
        return pointer;
    }

    /**
     * Device memory from {@link #allocateZeroed} as a tensor owned by {@code arena}: closing the arena
     * returns it to the cache, on the device thread. Call it on the arena's own thread (a confined arena is
     * usable only there), which may be any thread.
     */
    Tensor wrap(long pointer, long bytes, Arena arena, DType dtype, int... shape) {
        MemorySegment memory = MemorySegment.ofAddress(pointer).reinterpret(bytes, arena, ignored -> release(pointer));
        return Tensor.onDevice(device, memory, dtype, shape);
    }

    private void release(long pointer) {
        thread.post(() -> memory.free(pointer));
    }

    void launch(String kernel, Launch launch, KernelArgs args) {
        runtime.launch(kernel, launch, args);
    }

    /** Element {@code index} of a dense F32 device tensor, read back to the host (synchronises). */
    float readFloat(Tensor t, long index) {
        try (Arena host = Arena.ofConfined()) {
            MemorySegment one = host.allocate(4);
            runtime.copyToHost(address(t) + index * 4, one, 4);
            return one.get(FLOAT, 0);
        }
    }

    /** Element {@code index} of a dense I32 device tensor, read back to the host (synchronises). */
    int readInt(Tensor t, long index) {
        try (Arena host = Arena.ofConfined()) {
            MemorySegment one = host.allocate(4);
            runtime.copyToHost(address(t) + index * 4, one, 4);
            return one.get(INT, 0);
        }
    }

    /** A double at a device address (a kernel's reduction result), read back (synchronises). */
    double readDouble(long address) {
        try (Arena host = Arena.ofConfined()) {
            MemorySegment one = host.allocate(8);
            runtime.copyToHost(address, one, 8);
            return one.get(DOUBLE, 0);
        }
    }

    /** A long at a device address, read back (synchronises). */
    long readLong(long address) {
        try (Arena host = Arena.ofConfined()) {
            MemorySegment one = host.allocate(8);
            runtime.copyToHost(address, one, 8);
            return one.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        }
    }
}
