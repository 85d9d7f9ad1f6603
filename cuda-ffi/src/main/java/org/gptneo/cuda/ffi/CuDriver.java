package org.gptneo.cuda.ffi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * The CUDA driver API ({@code libcuda.so.1}): modules, functions and launches in the primary context
 * that the runtime made current. Each method calls the C function of the same name (without the
 * {@code cu} prefix, exported names of cuda.h 13.0) and returns its {@code CUresult}.
 */
public final class CuDriver {
    /** {@code CUDA_SUCCESS}. */
    public static final int SUCCESS = 0;
    /** {@code CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES}. */
    public static final int FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;

    private static final MethodHandle INIT;
    private static final MethodHandle DEVICE_GET;
    private static final MethodHandle DEVICE_GET_NAME;
    private static final MethodHandle DEVICE_TOTAL_MEM;
    private static final MethodHandle MODULE_LOAD_DATA;
    private static final MethodHandle MODULE_GET_FUNCTION;
    private static final MethodHandle MODULE_UNLOAD;
    private static final MethodHandle LAUNCH_KERNEL;
    private static final MethodHandle FUNC_SET_ATTRIBUTE;
    private static final MethodHandle GET_ERROR_STRING;
    private static final MethodHandle GET_ERROR_NAME;

    /** The exported symbols bound here. */
    public static final List<String> SYMBOLS;

    static {
        Downcalls.Binder binder = new Downcalls.Binder(CudaLibrary.DRIVER);
        INIT = binder.bind("cuInit", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        DEVICE_GET = binder.bind("cuDeviceGet", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        DEVICE_GET_NAME = binder.bind("cuDeviceGetName", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        DEVICE_TOTAL_MEM = binder.bind("cuDeviceTotalMem_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        MODULE_LOAD_DATA = binder.bind("cuModuleLoadData", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        MODULE_GET_FUNCTION = binder.bind("cuModuleGetFunction", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        MODULE_UNLOAD = binder.bind("cuModuleUnload", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        LAUNCH_KERNEL = binder.bind("cuLaunchKernel", FunctionDescriptor.of(JAVA_INT, ADDRESS,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        FUNC_SET_ATTRIBUTE = binder.bind("cuFuncSetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        GET_ERROR_STRING = binder.bind("cuGetErrorString", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        GET_ERROR_NAME = binder.bind("cuGetErrorName", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        SYMBOLS = binder.symbols();
    }

    private CuDriver() {}

    /** Throws {@link CudaException} "{@code function} failed: message (name, rc)" unless {@code rc} is success. */
    public static void check(int rc, String function) {
        if (rc != SUCCESS) {
            throw new CudaException(function + " failed: " + describe(rc), rc);
        }
    }

    /** "invalid argument (CUDA_ERROR_INVALID_VALUE, 1)", from the driver's own message functions. */
    public static String describe(int rc) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment text = arena.allocate(ADDRESS);
            MemorySegment name = arena.allocate(ADDRESS);
            if (getErrorString(rc, text) != SUCCESS || getErrorName(rc, name) != SUCCESS) {
                return "unknown CUresult " + rc;
            }
            return Downcalls.string(text.get(ADDRESS, 0)) + " (" + Downcalls.string(name.get(ADDRESS, 0)) + ", " + rc + ")";
        } catch (CudaUnavailableException e) {
            return "CUresult " + rc;
        }
    }

    /** The driver's handle of the device the runtime numbers {@code ordinal} (after {@code cuInit(0)}). */
    public static int device(int ordinal) {
        check(init(0), "cuInit");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = arena.allocate(JAVA_INT);
            check(deviceGet(handle, ordinal), "cuDeviceGet(" + ordinal + ")");
            return handle.get(JAVA_INT, 0);
        }
    }

    /** The name of a device handle ("NVIDIA H200"). */
    public static String deviceName(int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment text = arena.allocate(256);
            check(deviceGetName(text, (int) text.byteSize(), device), "cuDeviceGetName");
            return text.getString(0);
        }
    }

    /** The total memory of a device handle in bytes. */
    public static long totalMemory(int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bytes = arena.allocate(JAVA_LONG);
            check(deviceTotalMem(bytes, device), "cuDeviceTotalMem_v2");
            return bytes.get(JAVA_LONG, 0);
        }
    }

    public static int init(int flags) {
        try { return (int) INIT.invokeExact(flags); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int deviceGet(MemorySegment deviceOut, int ordinal) {
        try { return (int) DEVICE_GET.invokeExact(deviceOut, ordinal); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int deviceGetName(MemorySegment name, int length, int device) {
        try { return (int) DEVICE_GET_NAME.invokeExact(name, length, device); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int deviceTotalMem(MemorySegment bytesOut, int device) {
        try { return (int) DEVICE_TOTAL_MEM.invokeExact(bytesOut, device); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int moduleLoadData(MemorySegment moduleOut, MemorySegment image) {
        try { return (int) MODULE_LOAD_DATA.invokeExact(moduleOut, image); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int moduleGetFunction(MemorySegment functionOut, MemorySegment module, MemorySegment name) {
        try { return (int) MODULE_GET_FUNCTION.invokeExact(functionOut, module, name); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int moduleUnload(MemorySegment module) {
        try { return (int) MODULE_UNLOAD.invokeExact(module); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int launchKernel(MemorySegment function, int gridX, int gridY, int gridZ, int blockX, int blockY,
                                   int blockZ, int sharedBytes, MemorySegment stream, MemorySegment params,
                                   MemorySegment extra) {
        try {
            return (int) LAUNCH_KERNEL.invokeExact(function, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes,
                    stream, params, extra);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public static int funcSetAttribute(MemorySegment function, int attribute, int value) {
        try { return (int) FUNC_SET_ATTRIBUTE.invokeExact(function, attribute, value); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int getErrorString(int rc, MemorySegment textOut) {
        try { return (int) GET_ERROR_STRING.invokeExact(rc, textOut); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int getErrorName(int rc, MemorySegment nameOut) {
        try { return (int) GET_ERROR_NAME.invokeExact(rc, nameOut); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }
}
