package org.gptneo.cuda.ffi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * NVRTC ({@code libnvrtc.so.13}), the runtime compiler: CUDA C source to CUBIN without a GPU. Each
 * method calls the C function of the same name (without the {@code nvrtc} prefix) and returns its
 * {@code nvrtcResult}.
 */
public final class Nvrtc {
    /** {@code NVRTC_SUCCESS}. */
    public static final int SUCCESS = 0;

    private static final MethodHandle VERSION;
    private static final MethodHandle CREATE_PROGRAM;
    private static final MethodHandle COMPILE_PROGRAM;
    private static final MethodHandle GET_PROGRAM_LOG_SIZE;
    private static final MethodHandle GET_PROGRAM_LOG;
    private static final MethodHandle GET_CUBIN_SIZE;
    private static final MethodHandle GET_CUBIN;
    private static final MethodHandle DESTROY_PROGRAM;
    private static final MethodHandle GET_ERROR_STRING;

    /** The exported symbols bound here. */
    public static final List<String> SYMBOLS;

    static {
        Downcalls.Binder binder = new Downcalls.Binder(CudaLibrary.NVRTC);
        VERSION = binder.bind("nvrtcVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        CREATE_PROGRAM = binder.bind("nvrtcCreateProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        COMPILE_PROGRAM = binder.bind("nvrtcCompileProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
        GET_PROGRAM_LOG_SIZE = binder.bind("nvrtcGetProgramLogSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        GET_PROGRAM_LOG = binder.bind("nvrtcGetProgramLog", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        GET_CUBIN_SIZE = binder.bind("nvrtcGetCUBINSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        GET_CUBIN = binder.bind("nvrtcGetCUBIN", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        DESTROY_PROGRAM = binder.bind("nvrtcDestroyProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        GET_ERROR_STRING = binder.bind("nvrtcGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        SYMBOLS = binder.symbols();
    }

    private Nvrtc() {}

    /** Throws {@link CudaException} "{@code function} failed: NVRTC_ERROR_... (rc)" unless {@code rc} is success. */
    public static void check(int rc, String function) {
        if (rc != SUCCESS) {
            throw new CudaException(function + " failed: " + describe(rc), rc);
        }
    }

    /** "NVRTC_ERROR_COMPILATION (6)", from {@code nvrtcGetErrorString}. */
    public static String describe(int rc) {
        try {
            return Downcalls.string(getErrorString(rc)) + " (" + rc + ")";
        } catch (CudaUnavailableException e) {
            return "nvrtcResult " + rc;
        }
    }

    public static int version(MemorySegment majorOut, MemorySegment minorOut) {
        try { return (int) VERSION.invokeExact(majorOut, minorOut); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int createProgram(MemorySegment programOut, MemorySegment source, MemorySegment name, int numHeaders,
                                    MemorySegment headers, MemorySegment includeNames) {
        try {
            return (int) CREATE_PROGRAM.invokeExact(programOut, source, name, numHeaders, headers, includeNames);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public static int compileProgram(MemorySegment program, int numOptions, MemorySegment options) {
        try { return (int) COMPILE_PROGRAM.invokeExact(program, numOptions, options); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int getProgramLogSize(MemorySegment program, MemorySegment sizeOut) {
        try { return (int) GET_PROGRAM_LOG_SIZE.invokeExact(program, sizeOut); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int getProgramLog(MemorySegment program, MemorySegment log) {
        try { return (int) GET_PROGRAM_LOG.invokeExact(program, log); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int getCubinSize(MemorySegment program, MemorySegment sizeOut) {
        try { return (int) GET_CUBIN_SIZE.invokeExact(program, sizeOut); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static int getCubin(MemorySegment program, MemorySegment cubin) {
        try { return (int) GET_CUBIN.invokeExact(program, cubin); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    /** {@code nvrtcDestroyProgram(nvrtcProgram*)}: takes the slot holding the program. */
    public static int destroyProgram(MemorySegment programSlot) {
        try { return (int) DESTROY_PROGRAM.invokeExact(programSlot); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }

    public static MemorySegment getErrorString(int rc) {
        try { return (MemorySegment) GET_ERROR_STRING.invokeExact(rc); } catch (Throwable t) { throw Downcalls.unchecked(t); }
    }
}
