package org.gptneo.cuda.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import org.gptneo.cuda.ffi.CudaLibraries;
import org.gptneo.cuda.ffi.CudaLibrary;
import org.gptneo.cuda.ffi.LoadedLibrary;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The backend's whole kernel program through the real GPU compiler (NVRTC needs no GPU): every
 * kernel the emulator runs also compiles for the architectures CUDA 13 supports, and is present by
 * name in the CUBIN (extern "C", unmangled).
 */
class KernelProgramCompilesTest {
    @ParameterizedTest(name = "sm_{0}{1}")
    @CsvSource({"7, 5", "8, 0", "9, 0"})
    void everyKernelCompilesForTheGpu(int major, int minor) {
        LoadedLibrary nvrtc = CudaLibraries.get().library(CudaLibrary.NVRTC);
        assumeTrue(nvrtc.loaded(), () -> "libnvrtc.so.13 is not installed (pip install nvidia-cuda-nvrtc): " + nvrtc.whyMissing());
        String program = KernelSources.program();

        byte[] cubin = new KernelCompiler().compile(program, "gptneo-kernels.cu", major, minor);

        assertThat(cubin).startsWith(0x7f, 'E', 'L', 'F');
        String symbols = new String(cubin, StandardCharsets.ISO_8859_1);
        assertThat(KernelSources.kernelNames(program)).hasSizeGreaterThan(10)
                .allSatisfy(kernel -> assertThat(symbols).as("the CUBIN's symbols").contains(kernel + "\0"));
    }
}
