package org.gptneo.backend;

/**
 * The dropout stream every backend draws from: counter-based, so the value for (seed, index) never
 * depends on thread, order or device.
 */
public final class DropoutHash {
    private DropoutHash() {}

    /** A uniform float in [0, 1) from SplitMix64 of seed and index. */
    public static float uniform(long seed, long index) {
        long z = seed + (index + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return (z >>> 40) * 0x1.0p-24f;
    }
}
