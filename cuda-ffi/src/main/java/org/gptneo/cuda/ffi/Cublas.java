package org.gptneo.cuda.ffi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * cuBLAS ({@code libcublas.so.13}, loaded after {@code libcublasLt.so.13}). Each method calls the
 * exported C function named in its javadoc and returns its {@code cublasStatus_t}.
 */
public final class Cublas {
    /** {@code CUBLAS_STATUS_SUCCESS}. */
    public static final int SUCCESS = 0;
    /** {@code CUBLAS_OP_N}. */
    public static final int OP_N = 0;
    /** {@code CUBLAS_OP_T}. */
    public static final int OP_T = 1;
    /** {@code CUBLAS_DEFAULT_MATH}. */
    public static final int DEFAULT_MATH = 0;
    /** {@code CUBLAS_GEMM_DEFAULT}. */
    public static final int GEMM_DEFAULT = -1;
    /** {@code CUDA_R_32F}. */
    public static final int CUDA_R_32F = 0;
    /** {@code CUDA_R_16F}. */
    public static final int CUDA_R_16F = 2;
    /** {@code CUDA_R_16BF}. */
    public static final int CUDA_R_16BF = 14;
    /** {@code CUBLAS_COMPUTE_32F}. */
    public static final int COMPUTE_32F = 68;
    /** {@code CUBLAS_COMPUTE_32F_FAST_16BF}. */
    public static final int COMPUTE_32F_FAST_16BF = 75;
    /** {@code CUBLAS_COMPUTE_32F_FAST_TF32}. */
    public static final int COMPUTE_32F_FAST_TF32 = 77;

    private static final MethodHandle CREATE;
    private static final MethodHandle DESTROY;
    private static final MethodHandle SET_STREAM;
    private static final MethodHandle SET_MATH_MODE;
    private static final MethodHandle GEMM_STRIDED_BATCHED_EX;
    private static final MethodHandle GET_STATUS_STRING;
    private static final MethodHandle GET_STATUS_NAME;

    /** The exported symbols bound here. */
    public static final List<String> SYMBOLS;

    static {
        Downcalls.Binder binder = new Downcalls.Binder(CudaLibrary.CUBLAS);
        CREATE = binder.bind("cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        DESTROY = binder.bind("cublasDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        SET_STREAM = binder.bind("cublasSetStream_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        SET_MATH_MODE = binder.bind("cublasSetMathMode", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        GEMM_STRIDED_BATCHED_EX = binder.bind("cublasGemmStridedBatchedEx", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, // handle, transa, transb, m, n, k
                ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG,            // alpha, A, Atype, lda, strideA
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG,                     // B, Btype, ldb, strideB
                ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG,            // beta, C, Ctype, ldc, strideC
                JAVA_INT, JAVA_INT, JAVA_INT));                             // batchCount, computeType, algo
        GET_STATUS_STRING = binder.bind("cublasGetStatusString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        GET_STATUS_NAME = binder.bind("cublasGetStatusName", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        SYMBOLS = binder.symbols();
    }

    private Cublas() {}

    /** Throws {@link CudaException} "{@code function} failed: message (name, rc)" unless {@code rc} is success. */
    public static void check(int rc, String function) {
        if (rc != SUCCESS) {
            throw new CudaException(function + " failed: " + describe(rc), rc);
        }
    }

    /** The status in cuBLAS's words, from {@code cublasGetStatusString} and {@code cublasGetStatusName}. */
    public static String describe(int rc) {
        try {
            return Downcalls.string(getStatusString(rc)) + " (" + Downcalls.string(getStatusName(rc)) + ", " + rc + ")";
        } catch (CudaUnavailableException e) {
            return "cublasStatus_t " + rc;
        }
    }

    /** {@code cublasCreate_v2}. */
    public static int create(MemorySegment handleOut) {
        try { return (int) CREATE.invokeExact(handleOut); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    /** {@code cublasDestroy_v2}. */
    public static int destroy(MemorySegment handle) {
        try { return (int) DESTROY.invokeExact(handle); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    /** {@code cublasSetStream_v2}. */
    public static int setStream(MemorySegment handle, MemorySegment stream) {
        try { return (int) SET_STREAM.invokeExact(handle, stream); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    /** {@code cublasSetMathMode}. */
    public static int setMathMode(MemorySegment handle, int mode) {
        try { return (int) SET_MATH_MODE.invokeExact(handle, mode); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    /** {@code cublasGemmStridedBatchedEx}; alpha and beta point at host values of the compute type's scale type. */
    public static int gemmStridedBatchedEx(MemorySegment handle, int transA, int transB, int m, int n, int k,
                                           MemorySegment alpha, MemorySegment a, int aType, int lda, long strideA,
                                           MemorySegment b, int bType, int ldb, long strideB, MemorySegment beta,
                                           MemorySegment c, int cType, int ldc, long strideC, int batch,
                                           int computeType, int algo) {
        try {
            return (int) GEMM_STRIDED_BATCHED_EX.invokeExact(handle, transA, transB, m, n, k, alpha, a, aType, lda,
                    strideA, b, bType, ldb, strideB, beta, c, cType, ldc, strideC, batch, computeType, algo);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    /** {@code cublasGetStatusString}. */
    public static MemorySegment getStatusString(int rc) {
        try { return (MemorySegment) GET_STATUS_STRING.invokeExact(rc); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    /** {@code cublasGetStatusName}. */
    public static MemorySegment getStatusName(int rc) {
        try { return (MemorySegment) GET_STATUS_NAME.invokeExact(rc); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }
}
