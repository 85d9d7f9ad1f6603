package org.gptneo.cuda.runtime;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.gptneo.cuda.ffi.CudaException;
import org.gptneo.cuda.ffi.CudaProbe;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The real runtime on GPU 0: memory, copies, a kernel (also with more than 48 KiB of shared memory) and GEMMs. */
@Tag("gpu")
class CudaDeviceRuntimeGpuTest {
    private static final String SOURCE = """
            extern "C" __global__ void axpb(float* y, const float* x, float a, float b, long long n) {
                for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n;
                     i += (long long) gridDim.x * blockDim.x) {
                    y[i] = a * x[i] + b;
                }
            }
            extern "C" __global__ void reverse_shared(float* y, const float* x, int n) {
                extern __shared__ float buffer[];
                for (int i = threadIdx.x; i < n; i += blockDim.x) buffer[i] = x[i];
                __syncthreads();
                for (int i = threadIdx.x; i < n; i += blockDim.x) y[i] = buffer[n - 1 - i];
            }
            """;

    @BeforeEach
    void gpu() {
        CudaProbe.Result probe = CudaProbe.probe();
        assumeTrue(probe.usable(), "no usable GPU: " + probe.reason());
    }

    private static float[] download(DeviceRuntime runtime, long device, int n) {
        float[] out = new float[n];
        runtime.copyToHost(device, MemorySegment.ofArray(out), 4L * n);
        return out;
    }

    @Test
    void memoryCopiesAndAKernel() {
        int n = 100_000;
        try (CudaDeviceRuntime runtime = CudaDeviceRuntime.open(0, SOURCE); Arena arena = Arena.ofConfined()) {
            assertThat(runtime.describe()).startsWith(runtime.name()).contains("sm_" + runtime.smMajor() + runtime.smMinor());
            assertThat(runtime.totalMemory()).isPositive();
            long x = runtime.allocate(4L * n);
            long y = runtime.allocate(4L * n);
            assertThat(x % 256).isZero();
            MemorySegment host = arena.allocate(JAVA_FLOAT, n);
            for (int i = 0; i < n; i++) {
                host.setAtIndex(JAVA_FLOAT, i, i);
            }
            runtime.copyToDevice(host, x, 4L * n);
            runtime.launch("axpb", Launch.elementwise(n), KernelArgs.of().pointer(y).pointer(x).f32(2f).f32(1f).i64(n));
            float[] out = download(runtime, y, n);
            for (int i = 0; i < n; i += 997) {
                assertThat(out[i]).isEqualTo(2f * i + 1f);
            }

            runtime.copyOnDevice(y, x, 4L * n);
            runtime.memset(y, 0, 4L * n);
            assertThat(download(runtime, y, n)).containsOnly(0f);
            assertThat(download(runtime, x, n)[n - 1]).isEqualTo(2f * (n - 1) + 1f);
            runtime.synchronize();
            runtime.free(x);
            runtime.free(y);
        }
    }

    @Test
    void aKernelWithMoreThan48KiBOfSharedMemory() {
        int n = 16_384;
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = i * 0.5f;
        }
        try (CudaDeviceRuntime runtime = CudaDeviceRuntime.open(0, SOURCE)) {
            long x = runtime.allocate(4L * n);
            long y = runtime.allocate(4L * n);
            runtime.copyToDevice(MemorySegment.ofArray(values), x, 4L * n);
            runtime.launch("reverse_shared", Launch.perRow(1, 256, 4 * n), KernelArgs.of().pointer(y).pointer(x).i32(n));
            float[] out = download(runtime, y, n);
            assertThat(out[0]).isEqualTo(values[n - 1]);
            assertThat(out[n - 1]).isEqualTo(values[0]);
            assertThatThrownBy(() -> runtime.launch("no_such_kernel", Launch.elementwise(1), KernelArgs.of()))
                    .isInstanceOf(CudaException.class).hasMessageContaining("cuModuleGetFunction(no_such_kernel) failed");
            runtime.free(x);
            runtime.free(y);
        }
    }

    @Test
    void rowMajorGemmsThroughCublas() {
        // row-major C[2×2] = A[2×3]·B[3×2] is, column-major, Cᵀ = Bᵀ·Aᵀ: m = N, n = M, k = K, B first
        float[] a = {1, 2, 3, 4, 5, 6};
        float[] b = {7, 8, 9, 10, 11, 12};
        try (CudaDeviceRuntime runtime = CudaDeviceRuntime.open(0, SOURCE)) {
            long da = runtime.allocate(4L * a.length);
            long db = runtime.allocate(4L * b.length);
            long dc = runtime.allocate(4L * 8);
            runtime.copyToDevice(MemorySegment.ofArray(a), da, 4L * a.length);
            runtime.copyToDevice(MemorySegment.ofArray(b), db, 4L * b.length);
            runtime.gemm(new GemmCall(false, false, 2, 2, 3, 1f, db, 2, 0, da, 3, 0, 0f, dc, 2, 4, 2,
                    GemmCall.InputType.F32, GemmCall.Precision.F32));
            assertThat(download(runtime, dc, 8)).containsExactly(58, 64, 139, 154, 58, 64, 139, 154);
            runtime.gemm(new GemmCall(false, false, 2, 2, 3, 0.5f, db, 2, 0, da, 3, 0, 1f, dc, 2, 4, 1,
                    GemmCall.InputType.F32, GemmCall.Precision.TF32));
            assertThat(download(runtime, dc, 4)).containsExactly(87, 96, 208.5f, 231);
            runtime.free(da);
            runtime.free(db);
            runtime.free(dc);
        }
    }
}
