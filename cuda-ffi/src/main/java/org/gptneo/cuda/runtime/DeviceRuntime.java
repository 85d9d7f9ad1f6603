package org.gptneo.cuda.runtime;

import java.lang.foreign.MemorySegment;

/**
 * What the CUDA backend needs from one device: memory, copies, kernel launches and GEMMs, all
 * ordered on one stream. Device pointers are plain {@code long} addresses (0 is null).
 *
 * <p>Two implementations: {@link CudaDeviceRuntime} calls the CUDA runtime, driver, NVRTC and
 * cuBLAS through FFM; the test suite's emulated runtime runs the same kernel sources compiled as
 * C++ on the host, so the backend's logic is checked on machines without a GPU.
 *
 * <p>Methods are called from the device's own thread only (see {@code DeviceThread}).
 */
public interface DeviceRuntime extends AutoCloseable {

    /** A short description of the device ("NVIDIA H200, sm_90, 139 GiB", "emulator"). */
    String describe();

    /** The device's free and total memory in bytes, as {@code cudaMemGetInfo} reports them. */
    record MemoryInfo(long free, long total) {}

    /**
     * {@code bytes} of device memory (at least 256-byte aligned, contents undefined). Throws
     * {@link DeviceOutOfMemoryException} when the device has not enough free memory. The backend takes
     * its memory through a {@link CachingAllocator}, not from here directly.
     */
    long allocate(long bytes);

    /** Frees memory from {@link #allocate}; must not throw (it runs from arena cleanups). */
    void free(long pointer);

    /** The device's free and total memory now. */
    MemoryInfo memoryInfo();

    /** Host to device, ordered on the stream; returns when {@code host} may be reused. */
    void copyToDevice(MemorySegment host, long device, long bytes);

    /** Device to host; returns when the data is in {@code host} (synchronises the stream). */
    void copyToHost(long device, MemorySegment host, long bytes);

    /** Device to device, ordered on the stream. */
    void copyOnDevice(long from, long to, long bytes);

    /** Sets {@code bytes} bytes to {@code value} (0..255), ordered on the stream. */
    void memset(long device, int value, long bytes);

    /** Launches the kernel named {@code kernel} (an {@code extern "C"} function of the kernel sources). */
    void launch(String kernel, Launch launch, KernelArgs args);

    /** One (strided-batched) GEMM in cuBLAS's column-major convention. */
    void gemm(GemmCall call);

    /** Waits until everything queued so far is done; reports a failed asynchronous launch. */
    void synchronize();

    @Override
    void close();
}
