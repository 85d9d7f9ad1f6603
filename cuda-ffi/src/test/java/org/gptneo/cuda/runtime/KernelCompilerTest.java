package org.gptneo.cuda.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.gptneo.cuda.ffi.CudaException;
import org.gptneo.cuda.ffi.CudaLibraries;
import org.gptneo.cuda.ffi.CudaLibrary;
import org.gptneo.cuda.ffi.LoadedLibrary;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class KernelCompilerTest {
    private static final String SCALE = """
            extern "C" __global__ void scale(float* x, float a, long long n) {
                for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n;
                     i += (long long) gridDim.x * blockDim.x) {
                    x[i] *= a;
                }
            }
            """;

    private static KernelCompiler compiler;

    @BeforeAll
    static void nvrtc() {
        LoadedLibrary nvrtc = CudaLibraries.get().library(CudaLibrary.NVRTC);
        assumeTrue(nvrtc.loaded(), "libnvrtc.so.13 is not installed: " + nvrtc.whyMissing());
        compiler = new KernelCompiler();
    }

    @Test
    void compilesToAnElfCubinAndCaches() {
        byte[] cubin = compiler.compile(SCALE, "scale.cu", 9, 0);

        assertThat(cubin).hasSizeGreaterThan(64).startsWith(0x7f, 'E', 'L', 'F');
        byte[] again = compiler.compile(SCALE, "scale.cu", 9, 0);
        assertThat(again).isEqualTo(cubin).isNotSameAs(cubin);
        assertThat(compiler.compile(SCALE, "scale.cu", 8, 0)).startsWith(0x7f, 'E', 'L', 'F').isNotEqualTo(cubin);
        assertThat(compiler.nvrtcVersion()).startsWith("13.");
    }

    @Test
    void aSyntaxErrorCarriesTheCompilersErrorLine() {
        String broken = "extern \"C\" __global__ void broken(float* x) { x[0] = ; }\n";

        assertThatThrownBy(() -> compiler.compile(broken, "broken.cu", 9, 0))
                .isInstanceOf(CudaException.class)
                .hasMessageStartingWith("nvrtcCompileProgram failed for broken.cu (sm_90): NVRTC_ERROR_COMPILATION (6)")
                .hasMessageContaining("broken.cu(1): error: expected an expression")
                .satisfies(e -> assertThat(((CudaException) e).status()).isEqualTo(6));
    }

    @Test
    void optionsAndLogLines() {
        assertThat(KernelCompiler.options(8, 6)).containsExactly("--gpu-architecture=sm_86", "--fmad=false", "-std=c++17");
        assertThat(KernelCompiler.firstLines("a\nb\nc\n", 2)).isEqualTo("a\nb\n... (1 more lines)");
        assertThat(KernelCompiler.firstLines("a\nb\n", 2)).isEqualTo("a\nb");
        assertThatThrownBy(() -> compiler.compile(SCALE, "scale.cu", 9, 10)).isInstanceOf(IllegalArgumentException.class);
    }
}
