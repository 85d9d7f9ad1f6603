package org.gptneo.cuda.runtime;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongUnaryOperator;

/**
 * Device memory with a cache, in the spirit of PyTorch's CUDA caching allocator, simplified: a
 * request is rounded up to its size class ({@link #sizeClass}), a freed block goes back to the list
 * of its class instead of to {@code cudaFree}, and the next request of that class takes it. A
 * training step or a decode step allocates the same shapes as the step before, so after the first
 * step almost no request reaches {@code cudaMalloc}, which synchronises the device and costs
 * microseconds to milliseconds. Blocks are never split or merged.
 *
 * <p>Why reuse is safe without events: every call for the device (launches, copies, memsets,
 * GEMMs, and this allocator's own calls) is made from the device's one thread, in order, on its
 * one stream. A block is freed only after the kernels that used it were queued, so whatever is
 * queued on it next, by its new owner, runs after them in stream order.
 *
 * <p>Contents of a block are undefined, as from {@code cudaMalloc}: callers that promise zeros
 * clear it with a memset on the stream. When the device is out of memory, the cache is released
 * ({@code cudaFree} of every cached block) and the allocation tried once more; a second failure is a
 * {@link DeviceOutOfMemoryException} naming the request and the device's free and total memory.
 *
 * <p>Not thread-safe: it is called on the device thread only.
 */
public final class CachingAllocator {
    /** Requests up to this size are rounded to {@link #SMALL_GRANULE}. */
    static final long SMALL_LIMIT = 1L << 20;
    /** The size-class step of small requests. */
    static final long SMALL_GRANULE = 512;
    /** Larger requests are rounded to one of this many classes per power-of-two octave (waste < 1/8). */
    static final int LARGE_CLASSES_PER_OCTAVE = 8;

    private final DeviceRuntime runtime;
    private final LongUnaryOperator sizeClass;
    private final Map<Long, ArrayDeque<Long>> cached = new HashMap<>();   // size class → free blocks
    private final Map<Long, Long> blocks = new HashMap<>();               // block in use → its size class
    private long inUse;
    private long reserved;
    private long peakInUse;
    private long deviceAllocations;
    private long reuses;

    /** An allocator over {@code runtime} with the default {@link #sizeClass} rounding. */
    public CachingAllocator(DeviceRuntime runtime) {
        this(runtime, CachingAllocator::sizeClass);
    }

    /**
     * An allocator over {@code runtime} that rounds requests with {@code sizeClass} (which must
     * answer at least its argument). {@code LongUnaryOperator.identity()} reuses only blocks of the
     * exact size, so a runtime that puts guard bytes around each block (the test suite's emulator)
     * still sees every overrun.
     */
    public CachingAllocator(DeviceRuntime runtime, LongUnaryOperator sizeClass) {
        this.runtime = runtime;
        this.sizeClass = sizeClass;
    }

    /**
     * The size of the block that serves a request of {@code bytes} (≥ 1): a multiple of 512 bytes up to
     * 1 MiB; above, a multiple of 1/8 of the power of two below the request (1 MiB < b ≤ 2 MiB in steps
     * of 128 KiB, and so on), so rounding wastes less than 1/8 and sizes that grow slowly (a KV cache's
     * scores) keep hitting the same class.
     */
    public static long sizeClass(long bytes) {
        if (bytes < 1) {
            throw new IllegalArgumentException("a device block of " + bytes + " bytes");
        }
        long step = bytes <= SMALL_LIMIT ? SMALL_GRANULE : Long.highestOneBit(bytes - 1) / LARGE_CLASSES_PER_OCTAVE;
        return Math.ceilDiv(bytes, step) * step;
    }

    /** A block of at least {@code bytes} bytes (≥ 1), contents undefined; from the cache when one fits. */
    public long allocate(long bytes) {
        long size = sizeClass.applyAsLong(bytes);
        if (size < bytes) {
            throw new IllegalStateException("size class " + size + " is smaller than the request of " + bytes + " bytes");
        }
        ArrayDeque<Long> free = cached.get(size);
        long pointer;
        if (free != null && !free.isEmpty()) {
            pointer = free.pop();
            reuses++;
        } else {
            pointer = fromDevice(size, bytes);
            reserved += size;
            deviceAllocations++;
        }
        blocks.put(pointer, size);
        inUse += size;
        peakInUse = Math.max(peakInUse, inUse);
        return pointer;
    }

    /** Returns a block from {@link #allocate} to the cache (no device call). */
    public void free(long pointer) {
        Long size = blocks.remove(pointer);
        if (size == null) {
            throw new IllegalStateException("free of 0x" + Long.toHexString(pointer) + ": not a block in use");
        }
        inUse -= size;
        cached.computeIfAbsent(size, s -> new ArrayDeque<>()).push(pointer);
    }

    /** Frees every cached block on the device; blocks in use stay. */
    public void emptyCache() {
        for (Map.Entry<Long, ArrayDeque<Long>> entry : cached.entrySet()) {
            for (long pointer : entry.getValue()) {
                runtime.free(pointer);
                reserved -= entry.getKey();
            }
        }
        cached.clear();
    }

    /** What is in use, reserved and cached now, the peak in use, and how often the cache served. */
    public MemoryStats stats() {
        return new MemoryStats(inUse, reserved, peakInUse, deviceAllocations, reuses);
    }

    private long fromDevice(long size, long requested) {
        try {
            return runtime.allocate(size);
        } catch (DeviceOutOfMemoryException first) {
            if (reserved == inUse) {
                throw outOfMemory(requested, first);
            }
            emptyCache();
            try {
                return runtime.allocate(size);
            } catch (DeviceOutOfMemoryException second) {
                throw outOfMemory(requested, second);
            }
        }
    }

    private DeviceOutOfMemoryException outOfMemory(long requested, DeviceOutOfMemoryException cause) {
        String device;
        try {
            DeviceRuntime.MemoryInfo info = runtime.memoryInfo();
            device = bytes(info.free()) + " free of " + bytes(info.total());
        } catch (RuntimeException e) {
            device = "free and total unknown (" + e.getMessage() + ")";
        }
        return new DeviceOutOfMemoryException("out of device memory: cannot allocate " + bytes(requested) + " ("
                + requested + " bytes) on " + runtime.describe() + ": " + device + "; this process holds "
                + bytes(inUse) + " in tensors after releasing its cache", cause);
    }

    /** "1.50 GiB", "312.0 MiB", "4.0 KiB", "17 B". */
    static String bytes(long n) {
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        if (n < 1024) {
            return n + " B";
        }
        double v = n;
        int unit = -1;
        while (v >= 1024 && unit < units.length - 1) {
            v /= 1024;
            unit++;
        }
        return String.format(java.util.Locale.ROOT, v >= 100 ? "%.0f %s" : "%.2f %s", v, units[unit]);
    }
}
