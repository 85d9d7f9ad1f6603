package org.gptneo.data;

/**
 * Seeded shuffling without a table: epoch {@code e} visits the sequences in the order
 * {@code indexAt(e, 0), indexAt(e, 1), ...}, a permutation of {@code [0, size)} determined only by
 * (seed, epoch, size). Memory is O(1) whatever the size: the permutation is a 6-round Feistel network
 * over the smallest even-bit power of two holding {@code size}, keyed by (seed, epoch, round), with
 * cycle walking to stay below {@code size} (under 4 steps on average). Immutable and thread-safe.
 */
public final class ShuffledOrder {
    private static final int ROUNDS = 6;
    private static final long MAX_SIZE = 1L << 62;

    private final long size;
    private final long seed;
    private final int halfBits;
    private final long halfMask;

    /**
     * The order of {@code size} sequences under {@code seed}.
     *
     * @throws IllegalArgumentException when {@code size} is outside {@code [1, 2^62]}
     */
    public ShuffledOrder(long size, long seed) {
        if (size < 1 || size > MAX_SIZE) {
            throw new IllegalArgumentException("a shuffled order needs a size in [1, 2^62], got " + size);
        }
        this.size = size;
        this.seed = seed;
        int bits = Math.max(2, 64 - Long.numberOfLeadingZeros(size - 1));
        this.halfBits = (bits + 1) / 2;
        this.halfMask = (1L << halfBits) - 1;
    }

    /** The number of sequences. */
    public long size() {
        return size;
    }

    /**
     * The sequence visited at {@code position} of epoch {@code epoch}.
     *
     * @throws IndexOutOfBoundsException when {@code position} is outside {@code [0, size)}
     */
    public long indexAt(long epoch, long position) {
        if (position < 0 || position >= size) {
            throw new IndexOutOfBoundsException("position " + position + " is outside [0, " + size + ")");
        }
        if (size == 1) {
            return 0;
        }
        long epochKey = mix(seed ^ mix(epoch + 0x9E37_79B9_7F4A_7C15L));
        long x = position;
        do { // a permutation of [0, 4^halfBits): walking its cycle from an index below size ends below size
            x = permute(x, epochKey);
        } while (x >= size);
        return x;
    }

    private long permute(long x, long epochKey) {
        long left = x >>> halfBits;
        long right = x & halfMask;
        for (int round = 0; round < ROUNDS; round++) {
            long next = left ^ (mix(right ^ mix(epochKey + round)) & halfMask);
            left = right;
            right = next;
        }
        return (left << halfBits) | right;
    }

    /** SplitMix64's finalizer: a bijective 64-bit mix. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
        return z ^ (z >>> 31);
    }
}
