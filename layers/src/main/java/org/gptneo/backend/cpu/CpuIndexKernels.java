package org.gptneo.backend.cpu;

import org.gptneo.tensor.Tensor;

/** Integer kernels over token ids, positions and labels: small, so plain scalar loops. */
final class CpuIndexKernels {
    private CpuIndexKernels() {}

    static void iota(Tensor out) {
        int t = out.dim(-1);
        for (long i = 0, n = out.size(); i < n; i++) out.setInt(i, (int) (i % t)); // [..., T]
    }

    static void shiftLeft(Tensor labels, int fill, Tensor targets) {
        if (labels.rank() != 2 || targets.size() != labels.size()) {
            throw new IllegalArgumentException("shiftLeft: labels " + labels + " do not fit targets " + targets);
        }
        int b = labels.dim(0), t = labels.dim(1);
        for (int row = 0; row < b; row++) { // [B, T]
            long at = (long) row * t;
            for (int col = 0; col < t; col++) {
                targets.setInt(at + col, col + 1 < t ? labels.getInt(at + col + 1) : fill);
            }
        }
    }

    static long firstOutOfRange(Tensor ids, int lo, int hi, int allowed) {
        for (long i = 0, n = ids.size(); i < n; i++) {
            int id = ids.getInt(i);
            if ((id < lo || id >= hi) && id != allowed) return i;
        }
        return -1;
    }

    /** How many targets are not {@code ignored} (the divisor of a mean loss). */
    static int countNot(Tensor targets, int ignored) {
        int count = 0;
        for (long i = 0, n = targets.size(); i < n; i++) {
            if (targets.getInt(i) != ignored) count++;
        }
        return count;
    }

    static void divMod(Tensor x, int divisor, Tensor quotient, Tensor remainder) {
        if (divisor < 1) {
            throw new IllegalArgumentException("divMod: divisor must be ≥ 1, got " + divisor);
        }
        for (long i = 0; i < x.size(); i++) {
            int v = x.getInt(i);
            quotient.setInt(i, v / divisor);
            remainder.setInt(i, v % divisor);
        }
    }
}
