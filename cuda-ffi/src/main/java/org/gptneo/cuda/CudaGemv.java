package org.gptneo.cuda;

import org.gptneo.backend.MatmulShape;
import org.gptneo.cuda.runtime.KernelArgs;
import org.gptneo.cuda.runtime.Launch;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * The decode shape of a linear layer, x [R, K]·Wᵀ with few rows R and a weight W [N, K] stored in
 * BF16, F16 or Q8, by the {@code gemv_*} kernels ({@code gemv.cu}): they read W once in its stored
 * width and widen it in registers, where the GEMM path would first write and read an F32 copy of it.
 * Products and sums are F32 whatever the GEMM precision, in a fixed order, so an output row does not
 * depend on R or on the other rows.
 *
 * <p>F32 weights stay with cuBLAS: there is no widened copy to save, and cuBLAS has its own kernels for
 * products this thin.
 */
final class CudaGemv {
    /** Most rows of x per launch ({@code GEMV_MAX_ROWS}); more take the GEMM path. */
    static final int MAX_ROWS = 8;
    /** Weight rows per block of {@link Launch#THREADS} threads ({@code GEMV_GROUPS}: 32 threads each). */
    static final int ROWS_PER_BLOCK = Launch.THREADS / 32;

    private CudaGemv() {}

    /**
     * Whether C = A·Bᵀ is this shape: B a dense rank-2 BF16, F16 or Q8 weight [N, K], transposed; A a
     * dense F32 [..., M, K], not transposed, whose batch entries are at most {@link #MAX_ROWS} rows in all.
     */
    static boolean applies(MatmulShape s, Tensor a, boolean transposeA, Tensor b, boolean transposeB) {
        long rows = (long) s.batch() * s.m();
        return transposeB && !transposeA && kernel(b.dtype()) != null && b.rank() == 2 && b.isContiguous()
                && a.dtype() == DType.F32 && a.isContiguous() && rows <= MAX_ROWS && a.size() == rows * s.k();
    }

    /** C [R, N] = alpha·A [R, K]·Bᵀ + beta·C, for a shape that {@link #applies}. */
    static void multiply(CudaDevice gpu, MatmulShape s, Tensor a, Tensor b, Tensor c, float alpha, float beta) {
        int rows = s.batch() * s.m(), n = s.n();
        int blocks = Math.ceilDiv(n, ROWS_PER_BLOCK);
        gpu.launch(kernel(b.dtype()), Launch.grid(blocks, 1, 1, Launch.THREADS, 0), KernelArgs.of()
                .pointer(gpu.address(a)).pointer(gpu.address(b)).pointer(gpu.address(c))
                .i32(rows).i32(n).i32(s.k()).f32(alpha).f32(beta));
    }

    private static String kernel(DType weight) {
        return switch (weight) {
            case BF16 -> "gemv_bf16";
            case F16 -> "gemv_f16";
            case Q8 -> "gemv_q8";
            default -> null;
        };
    }
}
