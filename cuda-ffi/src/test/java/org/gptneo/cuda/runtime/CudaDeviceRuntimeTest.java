package org.gptneo.cuda.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.gptneo.cuda.ffi.Cublas;
import org.gptneo.cuda.ffi.CudaException;
import org.gptneo.cuda.ffi.CudaLibraries;
import org.gptneo.cuda.ffi.CudaLibrary;
import org.junit.jupiter.api.Test;

/** What the real runtime does without a GPU, and its mapping of GEMM precisions. */
class CudaDeviceRuntimeTest {

    @Test
    void openingWithoutADriverFailsWithTheRuntimesReason() {
        assumeTrue(CudaLibraries.get().library(CudaLibrary.RUNTIME).loaded(), "libcudart.so.13 is not installed");
        assumeTrue(!CudaLibraries.get().library(CudaLibrary.DRIVER).loaded(), "a CUDA driver is installed here");

        assertThatThrownBy(() -> CudaDeviceRuntime.open(0, "extern \"C\" __global__ void k() {}"))
                .isInstanceOf(CudaException.class)
                .hasMessage("cudaSetDevice(0) failed: CUDA driver version is insufficient for CUDA runtime version"
                        + " (cudaErrorInsufficientDriver, 35)");
    }

    private static GemmCall call(GemmCall.InputType input, GemmCall.Precision precision) {
        return new GemmCall(false, true, 4, 4, 4, 1f, 0, 4, 0, 0, 4, 0, 0f, 0, 4, 0, 1, input, precision);
    }

    @Test
    void computeTypes() {
        assertThat(CudaDeviceRuntime.computeType(call(GemmCall.InputType.F32, GemmCall.Precision.F32))).isEqualTo(Cublas.COMPUTE_32F);
        assertThat(CudaDeviceRuntime.computeType(call(GemmCall.InputType.F32, GemmCall.Precision.TF32)))
                .isEqualTo(Cublas.COMPUTE_32F_FAST_TF32);
        assertThat(CudaDeviceRuntime.computeType(call(GemmCall.InputType.F32, GemmCall.Precision.BF16)))
                .isEqualTo(Cublas.COMPUTE_32F_FAST_16BF);
        assertThat(CudaDeviceRuntime.computeType(call(GemmCall.InputType.BF16, GemmCall.Precision.TF32))).isEqualTo(Cublas.COMPUTE_32F);
        assertThat(CudaDeviceRuntime.computeType(call(GemmCall.InputType.F16, GemmCall.Precision.F32))).isEqualTo(Cublas.COMPUTE_32F);
    }
}
