package org.gptneo.cuda.runtime;

import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;

/**
 * A {@link DeviceRuntime} that only hands out addresses: it counts mallocs and frees and refuses
 * allocations past its capacity, as {@code cudaMalloc} does. Nothing else is supported.
 */
final class CountingRuntime implements DeviceRuntime {
    private final long capacity;
    private final Map<Long, Long> live = new HashMap<>();   // address → bytes
    private long next = 0x10000;
    private long allocated;
    int mallocs;
    int frees;

    CountingRuntime(long capacity) {
        this.capacity = capacity;
    }

    long allocated() {
        return allocated;
    }

    @Override
    public String describe() {
        return "counting device";
    }

    @Override
    public long allocate(long bytes) {
        if (bytes > capacity - allocated) {
            throw new DeviceOutOfMemoryException("cudaMalloc(" + bytes + " bytes) failed: out of memory");
        }
        long address = next;
        next += Math.ceilDiv(bytes, 256) * 256;
        live.put(address, bytes);
        allocated += bytes;
        mallocs++;
        return address;
    }

    @Override
    public void free(long pointer) {
        Long bytes = live.remove(pointer);
        if (bytes == null) {
            throw new IllegalStateException("free of 0x" + Long.toHexString(pointer) + ": not allocated");
        }
        allocated -= bytes;
        frees++;
    }

    @Override
    public MemoryInfo memoryInfo() {
        return new MemoryInfo(capacity - allocated, capacity);
    }

    @Override
    public void copyToDevice(MemorySegment host, long device, long bytes) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void copyToHost(long device, MemorySegment host, long bytes) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void copyOnDevice(long from, long to, long bytes) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void memset(long device, int value, long bytes) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void launch(String kernel, Launch launch, KernelArgs args) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void gemm(GemmCall call) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void synchronize() {}

    @Override
    public void close() {}
}
