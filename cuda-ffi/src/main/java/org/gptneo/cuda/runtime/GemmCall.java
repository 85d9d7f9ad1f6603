package org.gptneo.cuda.runtime;

/**
 * The arguments of one {@code cublasGemmStridedBatchedEx} in cuBLAS's column-major terms:
 * C = alpha·op(A)·op(B) + beta·C for {@code batch} matrices, op(X) = X or Xᵀ, A m×k (after op), B k×n,
 * C m×n, each with its leading dimension and batch stride in elements (a stride of 0 shares the
 * matrix across the batch). A and B have {@code inputType}; C is F32; {@code precision} picks the
 * compute type.
 */
public record GemmCall(boolean transA, boolean transB, int m, int n, int k, float alpha,
                       long a, int lda, long strideA, long b, int ldb, long strideB, float beta,
                       long c, int ldc, long strideC, int batch, InputType inputType, Precision precision) {

    /** The storage type of A and B. */
    public enum InputType { F32, BF16, F16 }

    /** How the products are computed (accumulation is always F32). */
    public enum Precision {
        /** Full F32 (CUBLAS_COMPUTE_32F). */
        F32,
        /** F32 inputs rounded to TF32 on tensor cores (CUBLAS_COMPUTE_32F_FAST_TF32). */
        TF32,
        /** F32 inputs rounded to BF16 on tensor cores (CUBLAS_COMPUTE_32F_FAST_16BF). */
        BF16
    }
}
