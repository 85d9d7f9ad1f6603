package org.gptneo.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Function;

/**
 * The host buffer that uploads and downloads pass through: in a shared arena, so both the caller's
 * thread and the device thread may touch it; grown by doubling and reused, because making and
 * closing a shared arena per copy costs a handshake with every thread. One transfer at a time.
 */
final class Staging implements AutoCloseable {
    private Arena arena = Arena.ofShared();
    private MemorySegment buffer = arena.allocate(1 << 16, 64);

    /** Runs {@code transfer} with a buffer of at least {@code bytes} bytes (exactly that long). */
    synchronized <T> T with(long bytes, Function<MemorySegment, T> transfer) {
        if (buffer.byteSize() < bytes) {
            arena.close();
            arena = Arena.ofShared();
            buffer = arena.allocate(Math.max(bytes, 2 * buffer.byteSize()), 64);
        }
        return transfer.apply(buffer.asSlice(0, bytes));
    }

    @Override
    public synchronized void close() {
        arena.close();
    }
}
