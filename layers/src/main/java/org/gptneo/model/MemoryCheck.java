package org.gptneo.model;

import java.lang.management.ManagementFactory;

/** Refuses, before allocating, a model whose F32 weights cannot fit in this machine's memory. */
final class MemoryCheck {
    private MemoryCheck() {}

    static void requireRoomFor(GptNeoConfig config) {
        long needed = config.parameterCount() * Float.BYTES;
        long total = physicalMemory();
        if (total > 0 && needed > total) {
            throw new IllegalStateException(String.format(
                    "a %,d-parameter model needs %.1f GB for F32 weights alone; this machine has %.1f GB",
                    config.parameterCount(), needed / 1e9, total / 1e9));
        }
    }

    private static long physicalMemory() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return -1;
    }
}
