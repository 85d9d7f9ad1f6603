package org.gptneo.backend;

import org.gptneo.tensor.Tensor;

/** Argument checks that every backend's kernels share, so that all backends fail with the same message. */
public final class KernelChecks {
    private KernelChecks() {}

    /** Element {@code n} of host I32 {@code ids}, which must lie in [0, limit). */
    public static int checkedId(Tensor ids, long n, int limit) {
        int id = ids.getInt(n);
        if (id < 0 || id >= limit) {
            throw new IndexOutOfBoundsException("token id " + id + " at position " + n + " is outside [0, " + limit + ")");
        }
        return id;
    }

    public static void requireSameSize(Tensor a, Tensor b) {
        if (a.size() != b.size()) {
            throw new IllegalArgumentException("element counts differ: " + a + " vs " + b);
        }
    }

    /** Element {@code m} of host I32 {@code rows}, a row index that must lie in [0, limit). */
    public static int checkedRow(Tensor rows, long m, int limit) {
        int row = rows.getInt(m);
        if (row < 0 || row >= limit) {
            throw new IndexOutOfBoundsException("row index " + row + " at position " + m + " is outside [0, " + limit + ")");
        }
        return row;
    }

    /** src [M, C], weights [M], rows [M] and out [R, C] of a row scatter (see Backend#scatterAddRows). */
    public static void requireScatterShapes(Tensor src, Tensor weights, Tensor rows, Tensor out) {
        if (src.rank() != 2 || out.rank() != 2 || src.dim(1) != out.dim(1) || weights.size() != src.dim(0)
                || rows.size() != src.dim(0)) {
            throw new IllegalArgumentException("scatterAddRows: src [M, C], weights [M], rows [M] and out [R, C] do not fit: "
                    + src + ", " + weights + ", " + rows + ", " + out);
        }
    }
}
