package org.gptneo.cuda.runtime;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.gptneo.cuda.ffi.CuDriver;
import org.gptneo.cuda.ffi.Cublas;
import org.gptneo.cuda.ffi.CudaException;
import org.gptneo.cuda.ffi.Cudart;

/**
 * The {@link DeviceRuntime} of one real GPU: the CUDA runtime for memory, copies and the stream,
 * the driver API for the kernels (compiled once by NVRTC for the device's architecture and loaded
 * into the runtime's primary context), cuBLAS for GEMMs. Everything is ordered on one non-blocking
 * stream.
 *
 * <p>Confined to the thread that opened it: the current device is per OS thread, so every call
 * but {@link #free} must come from that (platform) thread. Host segments passed to the copies are pageable memory
 * (native or heap, not pinned), so a host-to-device copy has been staged when it returns.
 */
public final class CudaDeviceRuntime implements DeviceRuntime {
    /** Dynamic shared memory a kernel may use without opting in. */
    static final int DEFAULT_SHARED_BYTES = 48 * 1024;
    private static final String PROGRAM_NAME = "gptneo_kernels.cu";

    /** A loaded kernel and the dynamic shared memory it has opted in to. */
    private static final class Kernel {
        final MemorySegment function;
        int sharedLimit = DEFAULT_SHARED_BYTES;

        Kernel(MemorySegment function) {
            this.function = function;
        }
    }

    private final int device;
    private final Thread owner;
    private final String name;
    private final int smMajor;
    private final int smMinor;
    private final long totalMemory;
    private final MemorySegment stream;
    private final MemorySegment cublas;
    private final MemorySegment module;
    private final Map<String, Kernel> kernels = new HashMap<>();
    private volatile boolean freeFailureLogged;
    private boolean closed;

    private CudaDeviceRuntime(int device, String name, int smMajor, int smMinor, long totalMemory,
                              MemorySegment stream, MemorySegment cublas, MemorySegment module) {
        this.device = device;
        this.owner = Thread.currentThread();
        this.name = name;
        this.smMajor = smMajor;
        this.smMinor = smMinor;
        this.totalMemory = totalMemory;
        this.stream = stream;
        this.cublas = cublas;
        this.module = module;
    }

    /** {@link #open(int, String, KernelCompiler)} with a compiler of its own. */
    public static CudaDeviceRuntime open(int device, String kernelSource) {
        return open(device, kernelSource, new KernelCompiler());
    }

    /**
     * Opens {@code device} on the calling thread: makes its primary context current, creates the
     * stream and the cuBLAS handle, compiles {@code kernelSource} for its architecture with
     * {@code compiler} (shared by the devices of one process, so each architecture compiles once) and
     * loads it. Throws {@link CudaException} (nothing is left allocated) when any step fails.
     */
    public static CudaDeviceRuntime open(int device, String kernelSource, KernelCompiler compiler) {
        List<Runnable> undo = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            Cudart.check(Cudart.setDevice(device), "cudaSetDevice(" + device + ")");
            Cudart.check(Cudart.free(MemorySegment.NULL), "cudaFree(NULL)");
            int major = attribute(arena, Cudart.ATTR_COMPUTE_CAPABILITY_MAJOR, device);
            int minor = attribute(arena, Cudart.ATTR_COMPUTE_CAPABILITY_MINOR, device);
            MemorySegment free = arena.allocate(JAVA_LONG);
            MemorySegment total = arena.allocate(JAVA_LONG);
            Cudart.check(Cudart.memGetInfo(free, total), "cudaMemGetInfo");
            String name = CuDriver.deviceName(CuDriver.device(device));

            MemorySegment slot = arena.allocate(ADDRESS);
            Cudart.check(Cudart.streamCreateWithFlags(slot, Cudart.STREAM_NON_BLOCKING), "cudaStreamCreateWithFlags");
            MemorySegment stream = slot.get(ADDRESS, 0);
            undo.add(() -> Cudart.streamDestroy(stream));

            Cublas.check(Cublas.create(slot), "cublasCreate_v2");
            MemorySegment cublas = slot.get(ADDRESS, 0);
            undo.add(() -> Cublas.destroy(cublas));
            Cublas.check(Cublas.setStream(cublas, stream), "cublasSetStream_v2");
            Cublas.check(Cublas.setMathMode(cublas, Cublas.DEFAULT_MATH), "cublasSetMathMode");

            byte[] cubin = compiler.compile(kernelSource, PROGRAM_NAME, major, minor);
            CuDriver.check(CuDriver.moduleLoadData(slot, arena.allocateFrom(JAVA_BYTE, cubin)), "cuModuleLoadData");
            MemorySegment module = slot.get(ADDRESS, 0);
            return new CudaDeviceRuntime(device, name, major, minor, total.get(JAVA_LONG, 0), stream, cublas, module);
        } catch (RuntimeException e) {
            for (int i = undo.size() - 1; i >= 0; i--) {
                try {
                    undo.get(i).run();
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    private static int attribute(Arena arena, int attribute, int device) {
        MemorySegment value = arena.allocate(JAVA_INT);
        Cudart.check(Cudart.deviceGetAttribute(value, attribute, device), "cudaDeviceGetAttribute(" + attribute + ")");
        return value.get(JAVA_INT, 0);
    }

    /** The device ordinal. */
    public int device() {
        return device;
    }

    /** The device's name ("NVIDIA H200"). */
    public String name() {
        return name;
    }

    /** The compute capability's major number (9 for sm_90). */
    public int smMajor() {
        return smMajor;
    }

    /** The compute capability's minor number. */
    public int smMinor() {
        return smMinor;
    }

    /** The stream every call is ordered on (for libraries that queue work behind the kernels, such as NCCL). */
    public MemorySegment stream() {
        return stream;
    }

    /** The device's total memory in bytes. */
    public long totalMemory() {
        return totalMemory;
    }

    @Override
    public String describe() {
        return name + ", sm_" + smMajor + smMinor + ", " + Math.round(totalMemory / (double) (1L << 30)) + " GiB";
    }

    @Override
    public long allocate(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative allocation: " + bytes);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment slot = arena.allocate(ADDRESS);
            Cudart.check(Cudart.malloc(slot, bytes), "cudaMalloc(" + bytes + " bytes)");
            return slot.get(ADDRESS, 0).address();
        } catch (CudaException e) {
            if (e.status() == Cudart.ERROR_MEMORY_ALLOCATION) {
                throw new DeviceOutOfMemoryException(e.getMessage(), e);
            }
            throw e;
        }
    }

    @Override
    public MemoryInfo memoryInfo() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment free = arena.allocate(JAVA_LONG);
            MemorySegment total = arena.allocate(JAVA_LONG);
            Cudart.check(Cudart.memGetInfo(free, total), "cudaMemGetInfo");
            return new MemoryInfo(free.get(JAVA_LONG, 0), total.get(JAVA_LONG, 0));
        }
    }

    /**
     * {@inheritDoc} Called from another thread (an arena cleanup), it first makes this device current
     * there. A failure is reported once on standard error.
     */
    @Override
    public void free(long pointer) {
        if (pointer == 0) {
            return;
        }
        try {
            if (Thread.currentThread() != owner) {
                Cudart.check(Cudart.setDevice(device), "cudaSetDevice(" + device + ")");
            }
            Cudart.check(Cudart.free(MemorySegment.ofAddress(pointer)), "cudaFree");
        } catch (RuntimeException e) {
            if (!freeFailureLogged) {
                freeFailureLogged = true;
                System.err.println("gptneo cuda: " + e.getMessage() + " (further cudaFree failures are not reported)");
            }
        }
    }

    @Override
    public void copyToDevice(MemorySegment host, long device, long bytes) {
        checkHost(host, bytes);
        if (host.isNative()) {
            copy(MemorySegment.ofAddress(device), host, bytes, Cudart.MEMCPY_HOST_TO_DEVICE, "cudaMemcpyAsync(host to device)");
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(bytes, 8);
            staging.copyFrom(host.asSlice(0, bytes));
            copy(MemorySegment.ofAddress(device), staging, bytes, Cudart.MEMCPY_HOST_TO_DEVICE, "cudaMemcpyAsync(host to device)");
        }
    }

    @Override
    public void copyToHost(long device, MemorySegment host, long bytes) {
        checkHost(host, bytes);
        if (host.isNative()) {
            copy(host, MemorySegment.ofAddress(device), bytes, Cudart.MEMCPY_DEVICE_TO_HOST, "cudaMemcpyAsync(device to host)");
            synchronize();
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(bytes, 8);
            copy(staging, MemorySegment.ofAddress(device), bytes, Cudart.MEMCPY_DEVICE_TO_HOST, "cudaMemcpyAsync(device to host)");
            synchronize();
            host.asSlice(0, bytes).copyFrom(staging);
        }
    }

    @Override
    public void copyOnDevice(long from, long to, long bytes) {
        copy(MemorySegment.ofAddress(to), MemorySegment.ofAddress(from), bytes, Cudart.MEMCPY_DEVICE_TO_DEVICE,
                "cudaMemcpyAsync(device to device)");
    }

    private void copy(MemorySegment dst, MemorySegment src, long bytes, int kind, String what) {
        if (bytes > 0) {
            Cudart.check(Cudart.memcpyAsync(dst, src, bytes, kind, stream), what);
        }
    }

    private static void checkHost(MemorySegment host, long bytes) {
        if (bytes < 0 || host.byteSize() < bytes) {
            throw new IllegalArgumentException("a copy of " + bytes + " bytes with a host segment of " + host.byteSize());
        }
    }

    @Override
    public void memset(long device, int value, long bytes) {
        if (value < 0 || value > 255) {
            throw new IllegalArgumentException("memset value " + value + " is not a byte");
        }
        if (bytes > 0) {
            Cudart.check(Cudart.memsetAsync(MemorySegment.ofAddress(device), value, bytes, stream), "cudaMemsetAsync");
        }
    }

    @Override
    public void launch(String kernel, Launch launch, KernelArgs args) {
        Kernel k = kernel(kernel);
        if (launch.sharedBytes() > k.sharedLimit) {
            CuDriver.check(CuDriver.funcSetAttribute(k.function, CuDriver.FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                    launch.sharedBytes()), "cuFuncSetAttribute(" + kernel + ", " + launch.sharedBytes() + " shared bytes)");
            k.sharedLimit = launch.sharedBytes();
        }
        List<KernelArgs.Arg> list = args.list();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = MemorySegment.NULL;
            if (!list.isEmpty()) {
                MemorySegment values = arena.allocate(JAVA_LONG, list.size());
                params = arena.allocate(ADDRESS, list.size());
                for (int i = 0; i < list.size(); i++) {
                    KernelArgs.Arg arg = list.get(i);
                    MemorySegment slot = values.asSlice(i * JAVA_LONG.byteSize(), JAVA_LONG.byteSize());
                    switch (arg.kind()) {
                        case POINTER, I64 -> slot.set(JAVA_LONG, 0, arg.bits());
                        case I32, F32 -> slot.set(JAVA_INT, 0, (int) arg.bits());
                    }
                    params.setAtIndex(ADDRESS, i, slot);
                }
            }
            CuDriver.check(CuDriver.launchKernel(k.function, launch.gridX(), launch.gridY(), launch.gridZ(),
                    launch.blockX(), launch.blockY(), launch.blockZ(), launch.sharedBytes(), stream, params,
                    MemorySegment.NULL), "cuLaunchKernel(" + kernel + ")");
        }
    }

    private Kernel kernel(String kernel) {
        Kernel k = kernels.get(kernel);
        if (k == null) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment slot = arena.allocate(ADDRESS);
                CuDriver.check(CuDriver.moduleGetFunction(slot, module, arena.allocateFrom(kernel)),
                        "cuModuleGetFunction(" + kernel + ")");
                k = new Kernel(slot.get(ADDRESS, 0));
            }
            kernels.put(kernel, k);
        }
        return k;
    }

    @Override
    public void gemm(GemmCall call) {
        int inputType = switch (call.inputType()) {
            case F32 -> Cublas.CUDA_R_32F;
            case BF16 -> Cublas.CUDA_R_16BF;
            case F16 -> Cublas.CUDA_R_16F;
        };
        try (Arena arena = Arena.ofConfined()) {
            Cublas.check(Cublas.gemmStridedBatchedEx(cublas, call.transA() ? Cublas.OP_T : Cublas.OP_N,
                    call.transB() ? Cublas.OP_T : Cublas.OP_N, call.m(), call.n(), call.k(),
                    arena.allocateFrom(JAVA_FLOAT, call.alpha()), MemorySegment.ofAddress(call.a()), inputType, call.lda(),
                    call.strideA(), MemorySegment.ofAddress(call.b()), inputType, call.ldb(), call.strideB(),
                    arena.allocateFrom(JAVA_FLOAT, call.beta()), MemorySegment.ofAddress(call.c()), Cublas.CUDA_R_32F,
                    call.ldc(), call.strideC(), call.batch(), computeType(call), Cublas.GEMM_DEFAULT),
                    "cublasGemmStridedBatchedEx");
        }
    }

    /**
     * The compute type of a call: by {@link GemmCall.Precision} for F32 inputs; BF16 and F16 inputs are
     * always multiplied exactly and accumulated in F32 ({@code CUBLAS_COMPUTE_32F}).
     */
    static int computeType(GemmCall call) {
        if (call.inputType() != GemmCall.InputType.F32) {
            return Cublas.COMPUTE_32F;
        }
        return switch (call.precision()) {
            case F32 -> Cublas.COMPUTE_32F;
            case TF32 -> Cublas.COMPUTE_32F_FAST_TF32;
            case BF16 -> Cublas.COMPUTE_32F_FAST_16BF;
        };
    }

    @Override
    public void synchronize() {
        Cudart.check(Cudart.streamSynchronize(stream), "cudaStreamSynchronize");
    }

    /**
     * Waits for the device, then unloads the kernels and destroys the cuBLAS handle and the stream;
     * everything is released even when a step fails, then the first failure is thrown.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<CudaException> failures = new ArrayList<>();
        release(failures, () -> Cudart.check(Cudart.deviceSynchronize(), "cudaDeviceSynchronize"));
        release(failures, () -> CuDriver.check(CuDriver.moduleUnload(module), "cuModuleUnload"));
        release(failures, () -> Cublas.check(Cublas.destroy(cublas), "cublasDestroy_v2"));
        release(failures, () -> Cudart.check(Cudart.streamDestroy(stream), "cudaStreamDestroy"));
        if (!failures.isEmpty()) {
            CudaException first = failures.getFirst();
            failures.subList(1, failures.size()).forEach(first::addSuppressed);
            throw first;
        }
    }

    private static void release(List<CudaException> failures, Runnable step) {
        try {
            step.run();
        } catch (CudaException e) {
            failures.add(e);
        }
    }
}
