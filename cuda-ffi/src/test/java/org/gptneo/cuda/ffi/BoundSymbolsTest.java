package org.gptneo.cuda.ffi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.SymbolLookup;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every symbol the binding classes bind is exported by the installed library. */
class BoundSymbolsTest {

    private static SymbolLookup installed(CudaLibrary library) {
        LoadedLibrary outcome = CudaLibraries.get().library(library);
        assumeTrue(outcome.loaded(), library.soname() + " is not installed here: " + outcome.whyMissing());
        return outcome.lookup().orElseThrow();
    }

    private static void assertExported(CudaLibrary library, List<String> symbols) {
        SymbolLookup lookup = installed(library);
        assertThat(symbols).isNotEmpty().doesNotHaveDuplicates();
        assertThat(symbols).allSatisfy(symbol ->
                assertThat(lookup.find(symbol)).as("%s in %s", symbol, library.soname()).isPresent());
    }

    @Test
    void runtime() {
        assertExported(CudaLibrary.RUNTIME, Cudart.SYMBOLS);
        assertThat(Cudart.SYMBOLS).contains("cudaMemcpyAsync", "cudaStreamCreateWithFlags", "cudaRuntimeGetVersion");
    }

    @Test
    void nvrtc() {
        assertExported(CudaLibrary.NVRTC, Nvrtc.SYMBOLS);
    }

    @Test
    void cublas() {
        assertExported(CudaLibrary.CUBLAS, Cublas.SYMBOLS);
        assertThat(Cublas.SYMBOLS).contains("cublasCreate_v2", "cublasSetStream_v2", "cublasGemmStridedBatchedEx");
    }

    @Test
    void cublasLtIsLoadedFirstFromTheSameKindOfPlace() {
        SymbolLookup lt = installed(CudaLibrary.CUBLAS_LT);
        assertThat(lt.find("cublasLtCreate")).isPresent();
        assertThat(CudaLibrary.CUBLAS.dependencies()).containsExactly(CudaLibrary.CUBLAS_LT);
        assertThat(CudaLibrary.CUBLAS_LT.ordinal()).isLessThan(CudaLibrary.CUBLAS.ordinal());
        LoadedLibrary cublas = CudaLibraries.get().library(CudaLibrary.CUBLAS);
        LoadedLibrary ltOutcome = CudaLibraries.get().library(CudaLibrary.CUBLAS_LT);
        if (cublas.loaded() && cublas.loadedFrom().orElseThrow().path().isPresent()) {
            Path folder = cublas.loadedFrom().orElseThrow().path().orElseThrow().getParent();
            assertThat(ltOutcome.loadedFrom().orElseThrow().path()).contains(folder.resolve("libcublasLt.so.13"));
        }
    }

    @Test
    void driver() {
        assertExported(CudaLibrary.DRIVER, CuDriver.SYMBOLS);
    }

    @Test
    void withoutTheDriverItsFunctionsThrowTheReason() {
        LoadedLibrary driver = CudaLibraries.get().library(CudaLibrary.DRIVER);
        assumeTrue(!driver.loaded(), "libcuda.so.1 is installed here");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> CuDriver.init(0))
                .isInstanceOf(CudaUnavailableException.class)
                .hasMessageStartingWith("cuInit: libcuda.so.1 not found (tried libcuda.so.1 (system loader): ")
                .hasMessageContaining("libcuda.so.1: cannot open shared object file");
        assertThat(CuDriver.describe(1)).isEqualTo("CUresult 1");
    }
}
