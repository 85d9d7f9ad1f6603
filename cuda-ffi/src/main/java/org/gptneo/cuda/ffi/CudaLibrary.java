package org.gptneo.cuda.ffi;

import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The CUDA libraries this backend loads, each with its versioned soname (CUDA 13 line), the
 * sub-folders of {@code site-packages/nvidia/} whose {@code lib} folder holds it in NVIDIA's wheels
 * (the CUDA 13 folder first, then the CUDA 12 wheels' folder name), and the libraries it needs
 * loaded first, and the companion files (found next to it) that it opens by soname at run time. The
 * constants are in loading order: a dependency precedes its dependents.
 */
public enum CudaLibrary {
    /** The driver ({@code libcuda.so.1}): ships with the GPU driver, only ever loaded by bare soname. */
    DRIVER("libcuda.so.1", List.of(), null),
    /** The CUDA runtime. */
    RUNTIME("libcudart.so.13", List.of("cu13", "cuda_runtime"), null),
    /** The runtime compiler; it opens its builtins ({@code libnvrtc-builtins.so.13.<minor>}) when compiling. */
    NVRTC("libnvrtc.so.13", List.of("cu13", "cuda_nvrtc"), "libnvrtc-builtins\\.so\\.13\\.[0-9]+"),
    /** cuBLASLt, which cuBLAS needs. */
    CUBLAS_LT("libcublasLt.so.13", List.of("cu13", "cublas"), null),
    /** cuBLAS. */
    CUBLAS("libcublas.so.13", List.of("cu13", "cublas"), null, CUBLAS_LT),
    /** cuDNN 9; it opens its sub-libraries ({@code libcudnn_ops.so.9}, ...) at run time. */
    CUDNN("libcudnn.so.9", List.of("cudnn"), "libcudnn_[a-z0-9_]+\\.so\\.9"),
    /** NCCL 2. */
    NCCL("libnccl.so.2", List.of("nccl"), null);

    private final String soname;
    private final List<String> wheelFolders;
    private final List<CudaLibrary> dependencies;
    private final Optional<Pattern> companions;

    CudaLibrary(String soname, List<String> wheelFolders, String companions, CudaLibrary... dependencies) {
        this.soname = soname;
        this.wheelFolders = wheelFolders;
        this.companions = Optional.ofNullable(companions).map(Pattern::compile);
        this.dependencies = List.of(dependencies);
    }

    /** The versioned soname passed to the loader ("libcudart.so.13"). */
    public String soname() {
        return soname;
    }

    /** The folders under {@code site-packages/nvidia/} whose {@code lib} folder may hold this library. */
    public List<String> wheelFolders() {
        return wheelFolders;
    }

    /** The libraries to load before this one (by absolute path, so the loader finds them by soname). */
    public List<CudaLibrary> dependencies() {
        return dependencies;
    }

    /**
     * The names of the files next to this library that it opens by soname at run time; loading them
     * first by absolute path lets the loader find them (the library has no run path of its own).
     */
    public Optional<Pattern> companions() {
        return companions;
    }

    /** Whether only the system loader may find this library (no path candidates). */
    public boolean bareSonameOnly() {
        return this == DRIVER;
    }

    /**
     * Whether a file named {@code fileName} is this library: the soname or a name that extends it
     * after a dot ("libcudart.so.13.0.96"), or the unversioned developer name ("libcudart.so").
     */
    public boolean matchesFileName(String fileName) {
        String unversioned = soname.substring(0, soname.indexOf(".so") + 3);
        return fileName.equals(unversioned) || fileName.equals(soname) || fileName.startsWith(soname + ".");
    }
}
