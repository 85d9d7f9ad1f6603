package org.gptneo.cuda.ffi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * The CUDA runtime ({@code libcudart.so.13}). Each method calls the C function of the same name
 * (without the {@code cuda} prefix) and returns its {@code cudaError_t}; {@link #check} turns a
 * failure into a {@link CudaException}. Device pointers, streams and out-parameters are segments.
 */
public final class Cudart {
    /** {@code cudaSuccess}. */
    public static final int SUCCESS = 0;
    /** {@code cudaErrorMemoryAllocation}: the device has not enough free memory. */
    public static final int ERROR_MEMORY_ALLOCATION = 2;
    /** {@code cudaErrorInsufficientDriver}: no driver, or one older than the runtime. */
    public static final int ERROR_INSUFFICIENT_DRIVER = 35;
    /** {@code cudaErrorNoDevice}. */
    public static final int ERROR_NO_DEVICE = 100;
    /** {@code cudaMemcpyHostToDevice}. */
    public static final int MEMCPY_HOST_TO_DEVICE = 1;
    /** {@code cudaMemcpyDeviceToHost}. */
    public static final int MEMCPY_DEVICE_TO_HOST = 2;
    /** {@code cudaMemcpyDeviceToDevice}. */
    public static final int MEMCPY_DEVICE_TO_DEVICE = 3;
    /** {@code cudaStreamNonBlocking}. */
    public static final int STREAM_NON_BLOCKING = 1;
    /** {@code cudaDevAttrMultiProcessorCount}. */
    public static final int ATTR_MULTIPROCESSOR_COUNT = 16;
    /** {@code cudaDevAttrComputeCapabilityMajor}. */
    public static final int ATTR_COMPUTE_CAPABILITY_MAJOR = 75;
    /** {@code cudaDevAttrComputeCapabilityMinor}. */
    public static final int ATTR_COMPUTE_CAPABILITY_MINOR = 76;
    /** {@code cudaDevAttrMaxSharedMemoryPerBlockOptin}. */
    public static final int ATTR_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;

    private static final MethodHandle GET_DEVICE_COUNT;
    private static final MethodHandle SET_DEVICE;
    private static final MethodHandle DEVICE_GET_ATTRIBUTE;
    private static final MethodHandle DEVICE_SYNCHRONIZE;
    private static final MethodHandle GET_LAST_ERROR;
    private static final MethodHandle GET_ERROR_STRING;
    private static final MethodHandle GET_ERROR_NAME;
    private static final MethodHandle MALLOC;
    private static final MethodHandle FREE;
    private static final MethodHandle MEMCPY_ASYNC;
    private static final MethodHandle MEMSET_ASYNC;
    private static final MethodHandle MEM_GET_INFO;
    private static final MethodHandle STREAM_CREATE_WITH_FLAGS;
    private static final MethodHandle STREAM_SYNCHRONIZE;
    private static final MethodHandle STREAM_DESTROY;
    private static final MethodHandle RUNTIME_GET_VERSION;
    private static final MethodHandle DRIVER_GET_VERSION;

    /** The exported symbols bound here. */
    public static final List<String> SYMBOLS;

    static {
        Downcalls.Binder binder = new Downcalls.Binder(CudaLibrary.RUNTIME);
        GET_DEVICE_COUNT = binder.bind("cudaGetDeviceCount", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        SET_DEVICE = binder.bind("cudaSetDevice", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        DEVICE_GET_ATTRIBUTE = binder.bind("cudaDeviceGetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        DEVICE_SYNCHRONIZE = binder.bind("cudaDeviceSynchronize", FunctionDescriptor.of(JAVA_INT));
        GET_LAST_ERROR = binder.bind("cudaGetLastError", FunctionDescriptor.of(JAVA_INT));
        GET_ERROR_STRING = binder.bind("cudaGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        GET_ERROR_NAME = binder.bind("cudaGetErrorName", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        MALLOC = binder.bind("cudaMalloc", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        FREE = binder.bind("cudaFree", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        MEMCPY_ASYNC = binder.bind("cudaMemcpyAsync", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS));
        MEMSET_ASYNC = binder.bind("cudaMemsetAsync", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS));
        MEM_GET_INFO = binder.bind("cudaMemGetInfo", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        STREAM_CREATE_WITH_FLAGS = binder.bind("cudaStreamCreateWithFlags", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        STREAM_SYNCHRONIZE = binder.bind("cudaStreamSynchronize", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        STREAM_DESTROY = binder.bind("cudaStreamDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        RUNTIME_GET_VERSION = binder.bind("cudaRuntimeGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        DRIVER_GET_VERSION = binder.bind("cudaDriverGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        SYMBOLS = binder.symbols();
    }

    private Cudart() {}

    /**
     * Throws {@link CudaException} "{@code function} failed: message (name, rc)" unless {@code rc} is
     * success; first clears the thread's last error ({@code cudaGetLastError}) so that a later check
     * does not report the same failure again.
     */
    public static void check(int rc, String function) {
        if (rc != SUCCESS) {
            getLastError();
            throw new CudaException(function + " failed: " + describe(rc), rc);
        }
    }

    /** "out of memory (cudaErrorMemoryAllocation, 2)", from the runtime's own message functions. */
    public static String describe(int rc) {
        try {
            return Downcalls.string(getErrorString(rc)) + " (" + Downcalls.string(getErrorName(rc)) + ", " + rc + ")";
        } catch (CudaUnavailableException e) {
            return "cudaError_t " + rc;
        }
    }

    public static int getDeviceCount(MemorySegment count) {
        try { return (int) GET_DEVICE_COUNT.invokeExact(count); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int setDevice(int device) {
        try { return (int) SET_DEVICE.invokeExact(device); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int deviceGetAttribute(MemorySegment value, int attribute, int device) {
        try { return (int) DEVICE_GET_ATTRIBUTE.invokeExact(value, attribute, device); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int deviceSynchronize() {
        try { return (int) DEVICE_SYNCHRONIZE.invokeExact(); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int getLastError() {
        try { return (int) GET_LAST_ERROR.invokeExact(); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static MemorySegment getErrorString(int rc) {
        try { return (MemorySegment) GET_ERROR_STRING.invokeExact(rc); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static MemorySegment getErrorName(int rc) {
        try { return (MemorySegment) GET_ERROR_NAME.invokeExact(rc); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int malloc(MemorySegment pointerOut, long bytes) {
        try { return (int) MALLOC.invokeExact(pointerOut, bytes); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    /** {@code cudaFree}; NULL initialises the device's primary context. */
    public static int free(MemorySegment pointer) {
        try { return (int) FREE.invokeExact(pointer); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int memcpyAsync(MemorySegment dst, MemorySegment src, long bytes, int kind, MemorySegment stream) {
        try { return (int) MEMCPY_ASYNC.invokeExact(dst, src, bytes, kind, stream); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int memsetAsync(MemorySegment device, int value, long bytes, MemorySegment stream) {
        try { return (int) MEMSET_ASYNC.invokeExact(device, value, bytes, stream); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int memGetInfo(MemorySegment freeOut, MemorySegment totalOut) {
        try { return (int) MEM_GET_INFO.invokeExact(freeOut, totalOut); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int streamCreateWithFlags(MemorySegment streamOut, int flags) {
        try { return (int) STREAM_CREATE_WITH_FLAGS.invokeExact(streamOut, flags); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int streamSynchronize(MemorySegment stream) {
        try { return (int) STREAM_SYNCHRONIZE.invokeExact(stream); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int streamDestroy(MemorySegment stream) {
        try { return (int) STREAM_DESTROY.invokeExact(stream); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int runtimeGetVersion(MemorySegment versionOut) {
        try { return (int) RUNTIME_GET_VERSION.invokeExact(versionOut); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int driverGetVersion(MemorySegment versionOut) {
        try { return (int) DRIVER_GET_VERSION.invokeExact(versionOut); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }
}
