/**
 * The CUDA backend: the CUDA runtime and driver, NVRTC and cuBLAS called through the Foreign
 * Function and Memory API (no JNI, no native build step, no CUDA SDK at build time). Registers the
 * "cuda" {@link org.gptneo.backend.BackendProvider}, which is available only where a usable GPU is.
 * Needs {@code --enable-native-access=org.gptneo.cuda} on the module path.
 */
module org.gptneo.cuda {
    requires org.gptneo.layers;

    exports org.gptneo.cuda;
    exports org.gptneo.cuda.ffi;
    exports org.gptneo.cuda.runtime;

    provides org.gptneo.backend.BackendProvider with org.gptneo.cuda.CudaBackendProvider;
}
