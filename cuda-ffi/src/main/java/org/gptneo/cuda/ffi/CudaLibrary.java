package org.gptneo.cuda.ffi;

import java.util.List;

/**
 * The CUDA libraries this backend loads, each with its versioned soname (CUDA 13 line), the
 * sub-folders of {@code site-packages/nvidia/} whose {@code lib} folder holds it in NVIDIA's wheels
 * (the CUDA 13 folder first, then the CUDA 12 wheels' folder name), and the libraries it needs
 * loaded first. The constants are in loading order: a dependency precedes its dependents.
 */
public enum CudaLibrary {
    /** The driver ({@code libcuda.so.1}): ships with the GPU driver, only ever loaded by bare soname. */
    DRIVER("libcuda.so.1", List.of()),
    /** The CUDA runtime. */
    RUNTIME("libcudart.so.13", List.of("cu13", "cuda_runtime")),
    /** The runtime compiler. */
    NVRTC("libnvrtc.so.13", List.of("cu13", "cuda_nvrtc")),
    /** cuBLASLt, which cuBLAS needs. */
    CUBLAS_LT("libcublasLt.so.13", List.of("cu13", "cublas")),
    /** cuBLAS. */
    CUBLAS("libcublas.so.13", List.of("cu13", "cublas"), CUBLAS_LT),
    /** cuDNN 9. */
    CUDNN("libcudnn.so.9", List.of("cudnn")),
    /** NCCL 2. */
    NCCL("libnccl.so.2", List.of("nccl"));

    private final String soname;
    private final List<String> wheelFolders;
    private final List<CudaLibrary> dependencies;

    CudaLibrary(String soname, List<String> wheelFolders, CudaLibrary... dependencies) {
        this.soname = soname;
        this.wheelFolders = wheelFolders;
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
