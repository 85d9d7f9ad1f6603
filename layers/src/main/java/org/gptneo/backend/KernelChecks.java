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
}
