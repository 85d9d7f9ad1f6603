package org.gptneo.cuda;

import java.lang.foreign.Arena;
import org.gptneo.backend.MatmulShape;
import org.gptneo.cuda.runtime.GemmCall;
import org.gptneo.cuda.runtime.KernelArgs;
import org.gptneo.cuda.runtime.Launch;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * The CUDA backend's matrix products: one cuBLAS strided-batched GEMM per call (see
 * {@link #plan}). Weights stored in BF16, F16 or Q8 are first widened exactly into F32 scratch,
 * so the products are those of an F32 GEMM, as the contract asks; except in the decode shape
 * (a few rows times a transposed narrow weight), which {@link CudaGemv} computes from the narrow
 * weight directly.
 */
final class CudaMatmul {
    private CudaMatmul() {}

    static void matmul(CudaDevice gpu, GemmCall.Precision precision, Tensor a, boolean transposeA, Tensor b,
                       boolean transposeB, Tensor c, float alpha, float beta) {
        MatmulShape shape = MatmulShape.of(a, transposeA, b, transposeB, c);
        if (c.dtype() != DType.F32 || !c.isContiguous()) {
            throw new IllegalArgumentException("matmul writes a dense F32 C, got " + c);
        }
        long outputs = (long) shape.batch() * shape.m() * shape.n();
        if (outputs == 0) {
            return;
        }
        if (shape.k() == 0) {
            gpu.launch("scale_or_clear", Launch.elementwise(outputs), KernelArgs.of().pointer(gpu.address(c)).i64(outputs).f32(beta));
            return;
        }
        if (CudaGemv.applies(shape, a, transposeA, b, transposeB)) {
            CudaGemv.multiply(gpu, shape, a, b, c, alpha, beta);
            return;
        }
        try (Arena scratch = Arena.ofConfined()) {
            long pa = f32Address(gpu, a, scratch), pb = f32Address(gpu, b, scratch);
            gpu.runtime().gemm(plan(shape, pa, transposeA, pb, transposeB, gpu.address(c), alpha, beta, precision));
        }
    }

    /**
     * The row-major product as cuBLAS's column-major one. cuBLAS reads a row-major R [r×c] as
     * Rᵀ (c×r, leading dimension c), so C = op(A)·op(B) is computed as Cᵀ = op(B)ᵀ·op(A)ᵀ: B comes
     * first, m and n swap, and each operand is transposed for cuBLAS exactly when it is not for us.
     * Matrices inside a batch are dense, so each leading dimension is the stored row length.
     */
    static GemmCall plan(MatmulShape s, long a, boolean transposeA, long b, boolean transposeB, long c,
                         float alpha, float beta, GemmCall.Precision precision) {
        int m = s.m(), n = s.n(), k = s.k();
        int ldB = transposeB ? k : n;   // B stored [N, K] or [K, N]
        int ldA = transposeA ? m : k;   // A stored [K, M] or [M, K]
        return new GemmCall(transposeB, transposeA, n, m, k, alpha, b, ldB, s.strideB(), a, ldA, s.strideA(), beta,
                c, n, s.strideC(), s.batch(), GemmCall.InputType.F32, precision);
    }

    /** The address of {@code t} as F32: itself, or an exact widening into {@code scratch}. */
    private static long f32Address(CudaDevice gpu, Tensor t, Arena scratch) {
        if (t.dtype() == DType.F32) {
            return gpu.address(t);
        }
        String kernel = switch (t.dtype()) {
            case BF16 -> "widen_bf16";
            case F16 -> "widen_f16";
            case Q8 -> "widen_q8";
            default -> throw new IllegalArgumentException("matmul multiplies F32, BF16, F16 or Q8 operands, got " + t);
        };
        if (!t.isContiguous()) {
            throw new IllegalArgumentException("matmul widens only dense " + t.dtype() + " operands, got " + t);
        }
        Tensor wide = gpu.allocate(scratch, DType.F32, t.shape());
        gpu.launch(kernel, Launch.elementwise(t.size()),
                KernelArgs.of().pointer(gpu.address(t)).pointer(gpu.address(wide)).i64(t.size()));
        return gpu.address(wide);
    }
}
