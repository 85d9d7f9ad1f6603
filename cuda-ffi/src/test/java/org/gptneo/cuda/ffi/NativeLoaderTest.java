package org.gptneo.cuda.ffi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NativeLoaderTest {
    @TempDir
    Path tmp;

    @Test
    void aCorruptLibraryIsReportedWithTheLoadersErrorAndTheNextCandidateIsTried() throws IOException {
        Path corrupt = tmp.resolve("libcudart.so.13");
        byte[] garbage = new byte[4096];
        Arrays.fill(garbage, (byte) 0x5a);
        Files.write(corrupt, garbage);
        SearchEnvironment env = SearchEnvironment.current().withProperty(SearchEnvironment.PATH_PROPERTY, corrupt.toString());
        List<Candidate> candidates = LibrarySearch.candidates(CudaLibrary.RUNTIME, env);

        LoadedLibrary outcome = NativeLoader.load(CudaLibrary.RUNTIME, candidates);

        LoadedLibrary.Failure first = outcome.failures().getFirst();
        assertThat(first.candidate().path()).contains(corrupt.toAbsolutePath());
        assertThat(first.error()).contains(corrupt.toString()).containsIgnoringCase("invalid ELF header");
        assertThat(candidates).hasSizeGreaterThan(1);
        if (outcome.loaded()) {
            assertThat(outcome.loadedFrom()).isPresent().get().isNotEqualTo(first.candidate());
            assertThat(outcome.describe()).startsWith("libcudart.so.13 loaded from ");
        } else {
            assertThat(outcome.failures()).hasSize(candidates.size());
            assertThat(outcome.whyMissing()).contains(corrupt.toString()).contains("system loader");
        }
    }

    @Test
    void theNextCandidateLoadsAfterACorruptOne() throws IOException {
        LoadedLibrary real = CudaLibraries.get().library(CudaLibrary.RUNTIME);
        assumeTrue(real.loaded(), "libcudart.so.13 is not installed: " + real.whyMissing());
        Path corrupt = tmp.resolve("libcudart.so.13");
        Files.writeString(corrupt, "not a shared object, just text that is long enough to be read as a header ".repeat(8));

        LoadedLibrary outcome = NativeLoader.load(CudaLibrary.RUNTIME,
                List.of(Candidate.file(CudaLibrary.RUNTIME, corrupt, "test"), real.loadedFrom().orElseThrow()));

        assertThat(outcome.loaded()).isTrue();
        assertThat(outcome.loadedFrom()).isEqualTo(real.loadedFrom());
        assertThat(outcome.failures()).singleElement().satisfies(f -> assertThat(f.error()).contains(corrupt.toString()));
        assertThat(outcome.lookup().orElseThrow().find("cudaGetDeviceCount")).isPresent();
    }

    @Test
    void aMissingSonameReportsTheLoadersError() {
        Candidate missing = new Candidate(Optional.empty(), "libgptneo-absent.so.7", "system loader");

        LoadedLibrary outcome = NativeLoader.load(CudaLibrary.NCCL, List.of(missing));

        assertThat(outcome.loaded()).isFalse();
        assertThat(outcome.lookupOrNull()).isNull();
        assertThat(outcome.failures()).singleElement()
                .satisfies(f -> assertThat(f.error()).contains("libgptneo-absent.so.7").contains("cannot open shared object file"));
        assertThat(outcome.whyMissing()).startsWith("libnccl.so.2 not found (tried libgptneo-absent.so.7 (system loader): ");
    }

    @Test
    void theProcessWideOutcomeCoversEveryLibraryAndNeverLoadsTheDriverFromAPath() {
        CudaLibraries libraries = CudaLibraries.get();

        assertThat(libraries.libraries().keySet()).containsExactlyInAnyOrder(CudaLibrary.values());
        LoadedLibrary driver = libraries.library(CudaLibrary.DRIVER);
        if (driver.loaded()) {
            assertThat(driver.loadedFrom().orElseThrow().path()).isEmpty();
        } else {
            assertThat(driver.failures()).singleElement()
                    .satisfies(f -> assertThat(f.error()).contains("libcuda.so.1"));
        }
    }

    @Test
    void eachLibraryIsLoadedWhenFirstAskedForAfterTheOnesBeforeIt() {
        CudaLibraries libraries = CudaLibraries.load(new SearchEnvironment(Map.of(), Map.of(), tmp, List.of(), tmp));
        assertThat(libraries.tried()).isEmpty();

        libraries.library(CudaLibrary.RUNTIME);   // what a probe asks first: no GPU, nothing more
        assertThat(libraries.tried()).containsExactly(CudaLibrary.DRIVER, CudaLibrary.RUNTIME);

        libraries.library(CudaLibrary.CUBLAS);
        assertThat(libraries.tried()).containsExactly(CudaLibrary.DRIVER, CudaLibrary.RUNTIME, CudaLibrary.NVRTC,
                CudaLibrary.CUBLAS_LT, CudaLibrary.CUBLAS);
        assertThat(libraries.libraries().keySet()).containsExactly(CudaLibrary.values());
    }

    @Test
    void anEmptyEnvironmentLeavesOnlyTheSystemLoader() {
        CudaLibraries libraries = CudaLibraries.load(new SearchEnvironment(Map.of(), Map.of(), tmp, List.of(), tmp));

        for (CudaLibrary library : CudaLibrary.values()) {
            LoadedLibrary outcome = libraries.library(library);
            assertThat(outcome.library()).isEqualTo(library);
            if (outcome.loaded()) {
                assertThat(outcome.loadedFrom().orElseThrow()).isEqualTo(Candidate.bare(library));
            } else {
                assertThat(outcome.failures()).extracting(LoadedLibrary.Failure::candidate).containsExactly(Candidate.bare(library));
            }
        }
    }
}
