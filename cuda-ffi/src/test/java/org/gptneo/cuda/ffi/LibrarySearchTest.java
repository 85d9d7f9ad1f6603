package org.gptneo.cuda.ffi;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LibrarySearchTest {
    private static final String CUDART = "libcudart.so.13";

    @TempDir
    Path tmp;

    private Path touch(String relative) throws IOException {
        Path file = tmp.resolve(relative);
        Files.createDirectories(file.getParent());
        Files.write(file, new byte[] {1});
        return file.toAbsolutePath().normalize();
    }

    private SearchEnvironment env(Map<String, String> variables, Map<String, String> properties, List<Path> roots) {
        return new SearchEnvironment(variables, properties, tmp.resolve("home"), roots, tmp.resolve("toolkit"));
    }

    private static List<String> targets(List<Candidate> candidates) {
        return candidates.stream().map(Candidate::target).toList();
    }

    @Test
    void everySourceInOrderWithTheBareSonameLast() throws IOException {
        Path explicitFile = touch("explicit-file/libcudart.so.13.0.96");
        Path explicitFolder = touch("explicit-dir/" + CUDART);
        Path cudaHome = touch("cuda-home/lib64/" + CUDART);
        Path cudaPath = touch("cuda-path/lib64/" + CUDART);
        Path toolkit = touch("toolkit/lib64/" + CUDART);
        Path venv = touch("venv/lib/python3.12/site-packages/nvidia/cu13/lib/" + CUDART);
        Path venvCuda12 = touch("venv/lib/python3.12/site-packages/nvidia/cuda_runtime/lib/" + CUDART);
        Path conda = touch("conda/lib/python3.11/site-packages/nvidia/cu13/lib/" + CUDART);
        Path userSite = touch("home/.local/lib/python3.11/site-packages/nvidia/cu13/lib/" + CUDART);
        Path configured = touch("configured/site-packages/nvidia/cu13/lib/" + CUDART);
        Path extraRoot = touch("extra/lib/python3.13/site-packages/nvidia/cu13/lib/" + CUDART);

        Map<String, String> variables = new HashMap<>();
        variables.put("CUDA_HOME", tmp.resolve("cuda-home").toString());
        variables.put("CUDA_PATH", tmp.resolve("cuda-path").toString());
        variables.put("VIRTUAL_ENV", tmp.resolve("venv").toString());
        variables.put("CONDA_PREFIX", tmp.resolve("conda").toString());
        variables.put("GPTNEO_CUDA_PYTHON", tmp.resolve("configured/site-packages").toString());
        variables.put("GPTNEO_CUDA_PATH", explicitFile + ":" + tmp.resolve("explicit-dir") + ":" + tmp.resolve("absent"));
        List<Candidate> candidates = LibrarySearch.candidates(CudaLibrary.RUNTIME,
                env(variables, Map.of(), List.of(tmp.resolve("extra"))));

        assertThat(targets(candidates)).containsExactly(explicitFile.toString(), explicitFolder.toString(),
                cudaHome.toString(), cudaPath.toString(), toolkit.toString(), venv.toString(), venvCuda12.toString(),
                conda.toString(), userSite.toString(), configured.toString(), extraRoot.toString(), CUDART);
        assertThat(candidates).extracting(Candidate::origin).containsExactly("GPTNEO_CUDA_PATH", "GPTNEO_CUDA_PATH",
                "CUDA_HOME", "CUDA_PATH", tmp.resolve("toolkit").toString(), "VIRTUAL_ENV", "VIRTUAL_ENV",
                "CONDA_PREFIX", "user site", "GPTNEO_CUDA_PYTHON", "configured Python environment", "system loader");
    }

    @Test
    void thePropertyWinsOverTheVariable() throws IOException {
        Path byProperty = touch("by-property/" + CUDART);
        touch("by-variable/" + CUDART);
        SearchEnvironment env = env(Map.of("GPTNEO_CUDA_PATH", tmp.resolve("by-variable").toString()),
                Map.of("gptneo.cuda.path", tmp.resolve("by-property").toString()), List.of());

        List<Candidate> candidates = LibrarySearch.candidates(CudaLibrary.RUNTIME, env);

        assertThat(targets(candidates)).containsExactly(byProperty.toString(), CUDART);
        assertThat(candidates.getFirst().origin()).isEqualTo("gptneo.cuda.path");
    }

    @Test
    void anExplicitFileServesOnlyTheLibraryItIsNamedFor() throws IOException {
        Path cublas = touch("x/libcublas.so.13");
        Path cublasLt = touch("x/libcublasLt.so.13");
        SearchEnvironment env = env(Map.of(), Map.of("gptneo.cuda.path", cublas + ":" + cublasLt), List.of());

        assertThat(targets(LibrarySearch.candidates(CudaLibrary.CUBLAS, env))).containsExactly(cublas.toString(), "libcublas.so.13");
        assertThat(targets(LibrarySearch.candidates(CudaLibrary.CUBLAS_LT, env)))
                .containsExactly(cublasLt.toString(), "libcublasLt.so.13");
        assertThat(targets(LibrarySearch.candidates(CudaLibrary.RUNTIME, env))).containsExactly(CUDART);
    }

    @Test
    void newerPythonFirstAndEachFileOnce() throws IOException {
        Path newer = touch("home/.local/lib/python3.13/site-packages/nvidia/cu13/lib/" + CUDART);
        Path older = touch("home/.local/lib/python3.9/site-packages/nvidia/cu13/lib/" + CUDART);
        Path toolkit = touch("cuda/lib64/" + CUDART);
        String home = tmp.resolve("cuda").toString();
        SearchEnvironment env = env(Map.of("CUDA_HOME", home, "CUDA_PATH", home + "/"), Map.of(), List.of(tmp.resolve("home/.local")));

        assertThat(targets(LibrarySearch.candidates(CudaLibrary.RUNTIME, env)))
                .containsExactly(toolkit.toString(), newer.toString(), older.toString(), CUDART);
    }

    @Test
    void wheelFoldersOfEachLibrary() throws IOException {
        Path nvrtc12 = touch("env/lib/python3.10/site-packages/nvidia/cuda_nvrtc/lib/libnvrtc.so.13");
        Path cudnn = touch("env/lib/python3.10/site-packages/nvidia/cudnn/lib/libcudnn.so.9");
        Path nccl = touch("env/lib/python3.10/site-packages/nvidia/nccl/lib/libnccl.so.2");
        touch("env/lib/python3.10/site-packages/nvidia/cu13/lib/libcudnn.so.9.1");
        SearchEnvironment env = env(Map.of("CONDA_PREFIX", tmp.resolve("env").toString()), Map.of(), List.of());

        assertThat(targets(LibrarySearch.candidates(CudaLibrary.NVRTC, env))).containsExactly(nvrtc12.toString(), "libnvrtc.so.13");
        assertThat(targets(LibrarySearch.candidates(CudaLibrary.CUDNN, env))).containsExactly(cudnn.toString(), "libcudnn.so.9");
        assertThat(targets(LibrarySearch.candidates(CudaLibrary.NCCL, env))).containsExactly(nccl.toString(), "libnccl.so.2");
    }

    @Test
    void theDriverIsOnlyEverTheBareSoname() throws IOException {
        touch("explicit/libcuda.so.1");
        touch("cuda-home/lib64/libcuda.so.1");
        touch("toolkit/lib64/libcuda.so.1");
        touch("home/.local/lib/python3.11/site-packages/nvidia/cu13/lib/libcuda.so.1");
        SearchEnvironment env = env(Map.of("CUDA_HOME", tmp.resolve("cuda-home").toString()),
                Map.of("gptneo.cuda.path", tmp.resolve("explicit").toString()), List.of());

        List<Candidate> candidates = LibrarySearch.candidates(CudaLibrary.DRIVER, env);

        assertThat(candidates).containsExactly(Candidate.bare(CudaLibrary.DRIVER));
        assertThat(candidates.getFirst().path()).isEmpty();
        assertThat(candidates.getFirst().target()).isEqualTo("libcuda.so.1");
    }

    @Test
    void nothingFoundLeavesTheBareSonameOfEveryLibrary() {
        Map<CudaLibrary, List<Candidate>> all = LibrarySearch.candidates(env(Map.of(), Map.of(), List.of(tmp.resolve("none"))));

        assertThat(all.keySet()).containsExactly(CudaLibrary.values());
        all.forEach((library, candidates) -> assertThat(targets(candidates)).containsExactly(library.soname()));
    }
}
