package org.gptneo.backend;

import java.util.Arrays;
import org.gptneo.tensor.Tensor;

/**
 * The validated geometry of {@link Backend#matmul}: C[batch] (M×N) = op(A[batch]) (M×K) · op(B[batch]) (K×N).
 * Strides are in elements; a stride of 0 means the operand is shared by every batch entry. A and B
 * may be strided views whose matrices are dense and whose batch entries are evenly spaced (a slice
 * along the rows of a [B, H, capacity, hs] cache, say); C is dense.
 */
public record MatmulShape(int batch, int m, int n, int k, long strideA, long strideB, long strideC) {

    public static MatmulShape of(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor c) {
        if (a.rank() < 2 || b.rank() < 2 || c.rank() < 2) {
            throw new IllegalArgumentException("matmul needs rank ≥ 2 operands: " + a + ", " + b + ", " + c);
        }
        int m = transposeA ? a.dim(-1) : a.dim(-2);
        int kA = transposeA ? a.dim(-2) : a.dim(-1);
        int kB = transposeB ? b.dim(-1) : b.dim(-2);
        int n = transposeB ? b.dim(-2) : b.dim(-1);
        if (kA != kB || c.dim(-2) != m || c.dim(-1) != n) {
            throw new IllegalArgumentException("matmul shapes do not agree: A" + Arrays.toString(a.shape())
                    + (transposeA ? "ᵀ" : "") + " · B" + Arrays.toString(b.shape()) + (transposeB ? "ᵀ" : "")
                    + " → C" + Arrays.toString(c.shape()));
        }
        int batch = Math.toIntExact(c.size() / Math.max(1L, (long) m * n));
        if ((long) m * n == 0) {
            batch = batchOf(c);
        }
        return new MatmulShape(batch, m, n, kA,
                batchStride(a, batch, (long) m * kA, c), batchStride(b, batch, (long) kA * n, c), (long) m * n);
    }

    private static int batchOf(Tensor t) {
        int batch = 1;
        for (int i = 0; i < t.rank() - 2; i++) {
            batch *= t.dim(i);
        }
        return batch;
    }

    private static long batchStride(Tensor x, int batch, long matrixSize, Tensor c) {
        if (x.rank() == 2) {
            return 0;
        }
        if (batchOf(x) != batch) {
            throw new IllegalArgumentException("matmul batch dimensions differ: " + x + " vs " + c);
        }
        if (x.isContiguous()) {
            return matrixSize;
        }
        long[] st = x.strides();
        int r = x.rank();
        boolean denseMatrices = st[r - 1] == 1 && st[r - 2] == x.dim(-1);
        boolean evenBatches = true;
        for (int i = 0; i < r - 3; i++) {
            evenBatches &= st[i] == st[i + 1] * x.dim(i + 1);
        }
        if (!denseMatrices || !evenBatches) {
            throw new IllegalArgumentException("matmul reads strided views only with dense, evenly spaced matrices: " + x);
        }
        return st[r - 3];
    }

    /** Element offset of op(X)[row, col] in a row-major matrix that is stored transposed or not. */
    public static long at(boolean transposed, int rows, int cols, int row, int col) {
        return transposed ? (long) col * rows + row : (long) row * cols + col;
    }
}
