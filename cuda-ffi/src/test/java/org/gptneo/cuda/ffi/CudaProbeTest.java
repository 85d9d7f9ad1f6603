package org.gptneo.cuda.ffi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CudaProbeTest {

    private static void assumeRuntimeWithoutDriver() {
        LoadedLibrary runtime = CudaLibraries.get().library(CudaLibrary.RUNTIME);
        assumeTrue(runtime.loaded(), "libcudart.so.13 is not installed: " + runtime.whyMissing());
        assumeTrue(!CudaLibraries.get().library(CudaLibrary.DRIVER).loaded(),
                "a CUDA driver is installed here, so the no-driver outcome cannot be checked");
    }

    @Test
    void withoutADriverTheProbeSaysNotUsableWithTheRuntimesReason() {
        assumeRuntimeWithoutDriver();

        CudaProbe.Result result = CudaProbe.probe();

        assertThat(result.usable()).isFalse();
        assertThat(result.deviceCount()).isZero();
        assertThat(result.reason()).startsWith("libcudart.so.13 loaded from /")
                .contains("; cudaGetDeviceCount: CUDA driver version is insufficient for CUDA runtime version"
                        + " (cudaErrorInsufficientDriver, 35)");
    }

    @Test
    void theReportNamesEveryLibraryAndTheVersions() {
        assumeRuntimeWithoutDriver();

        Map<String, Object> report = CudaProbe.report();

        assertThat(report).containsEntry("usable", false).containsEntry("deviceCount", 0)
                .containsEntry("devices", List.of()).doesNotContainKey("error");
        assertThat(report.get("reason")).isEqualTo(CudaProbe.probe().reason());
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> libraries = (Map<String, Map<String, Object>>) report.get("libraries");
        assertThat(libraries.keySet()).containsExactly("libcuda.so.1", "libcudart.so.13", "libnvrtc.so.13",
                "libcublasLt.so.13", "libcublas.so.13", "libcudnn.so.9", "libnccl.so.2");
        assertThat(libraries.get("libcuda.so.1")).containsEntry("found", false)
                .hasEntrySatisfying("error", e -> assertThat((String) e).contains("libcuda.so.1"));
        assertThat(libraries.get("libcudart.so.13")).containsEntry("found", true).containsKeys("path", "origin")
                .doesNotContainKey("error");
        @SuppressWarnings("unchecked")
        Map<String, Object> versions = (Map<String, Object>) report.get("versions");
        assertThat(versions).containsEntry("driver", "none");
        assertThat((String) versions.get("runtime")).startsWith("13.");
    }

    @Test
    void versionNumbersAsText() {
        assertThat(CudaProbe.cudaVersion(13000)).isEqualTo("13.0");
        assertThat(CudaProbe.cudaVersion(12080)).isEqualTo("12.8");
        assertThat(CudaProbe.cudaVersion(0)).isEqualTo("none");
    }

    @Test
    void statusMessagesComeFromTheLibraries() {
        assumeTrue(CudaLibraries.get().library(CudaLibrary.RUNTIME).loaded(), "libcudart.so.13 is not installed");
        assertThatThrownBy(() -> Cudart.check(2, "cudaMalloc")).isInstanceOf(CudaException.class)
                .hasMessage("cudaMalloc failed: out of memory (cudaErrorMemoryAllocation, 2)")
                .satisfies(e -> assertThat(((CudaException) e).status()).isEqualTo(2));
        Cudart.check(Cudart.SUCCESS, "cudaSetDevice");
        if (CudaLibraries.get().library(CudaLibrary.CUBLAS).loaded()) {
            assertThat(Cublas.describe(7)).endsWith("(CUBLAS_STATUS_INVALID_VALUE, 7)");
        }
        if (CudaLibraries.get().library(CudaLibrary.NVRTC).loaded()) {
            assertThat(Nvrtc.describe(6)).isEqualTo("NVRTC_ERROR_COMPILATION (6)");
        }
    }
}
