package org.gptneo.cuda.runtime;

/**
 * What a {@link CachingAllocator} holds, in bytes of size-rounded blocks.
 *
 * @param inUse             blocks handed out and not yet freed
 * @param reserved          everything taken from the device: in use plus cached for reuse
 * @param peakInUse         the most {@code inUse} has been since the allocator was made
 * @param deviceAllocations {@code cudaMalloc} calls made (a cache miss each)
 * @param reuses            allocations served from the cache
 */
public record MemoryStats(long inUse, long reserved, long peakInUse, long deviceAllocations, long reuses) {

    /** The bytes cached: reserved but not in use. */
    public long cached() {
        return reserved - inUse;
    }
}
