package org.gptneo.cuda.runtime;

/**
 * A kernel's launch shape: grid and block dimensions and dynamic shared memory in bytes.
 */
public record Launch(int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ, int sharedBytes) {
    /** Threads per block for elementwise kernels. */
    public static final int THREADS = 256;
    /** Most blocks a grid-stride kernel is given (the loop covers the rest). */
    public static final int MAX_BLOCKS = 4096;

    public Launch {
        if (gridX < 1 || gridY < 1 || gridZ < 1 || blockX < 1 || blockY < 1 || blockZ < 1 || sharedBytes < 0
                || (long) blockX * blockY * blockZ > 1024) {
            throw new IllegalArgumentException("impossible launch " + this);
        }
    }

    /** A one-dimensional grid-stride launch covering {@code n} elements ({@link #THREADS} per block). */
    public static Launch elementwise(long n) {
        long blocks = Math.max(1, Math.min(MAX_BLOCKS, (n + THREADS - 1) / THREADS));
        return new Launch((int) blocks, 1, 1, THREADS, 1, 1, 0);
    }

    /** One block of {@code threads} threads per row, for {@code rows} rows (grid x = row). */
    public static Launch perRow(int rows, int threads, int sharedBytes) {
        return new Launch(Math.max(1, rows), 1, 1, threads, 1, 1, sharedBytes);
    }

    /** A custom grid with a one-dimensional block. */
    public static Launch grid(int gridX, int gridY, int gridZ, int threads, int sharedBytes) {
        return new Launch(gridX, gridY, gridZ, threads, 1, 1, sharedBytes);
    }
}
