package org.gptneo.cuda.ffi;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Makes downcall handles that never fail at binding time: a missing library or symbol gives a handle
 * of the same type that throws {@link CudaUnavailableException} when called, so the binding classes
 * initialise on every machine.
 */
public final class Downcalls {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle NEW_UNAVAILABLE;

    static {
        try {
            NEW_UNAVAILABLE = MethodHandles.lookup().findConstructor(CudaUnavailableException.class,
                    MethodType.methodType(void.class, String.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private Downcalls() {}

    /**
     * A handle for {@code symbol} of {@code lookupOrNull} with {@code descriptor}'s type, or, when the
     * lookup is null or lacks the symbol, one that throws {@code CudaUnavailableException("<symbol>: <whyMissing>")}.
     */
    @SuppressWarnings("restricted")
    public static MethodHandle bind(SymbolLookup lookupOrNull, String symbol, FunctionDescriptor descriptor,
                                    String whyMissing) {
        Optional<MemorySegment> address = lookupOrNull == null ? Optional.empty() : lookupOrNull.find(symbol);
        if (address.isPresent()) {
            return LINKER.downcallHandle(address.get(), descriptor);
        }
        MethodType type = descriptor.toMethodType();
        MethodHandle thrower = MethodHandles.throwException(type.returnType(), CudaUnavailableException.class);
        MethodHandle throwNew = MethodHandles.foldArguments(thrower,
                MethodHandles.insertArguments(NEW_UNAVAILABLE, 0, symbol + ": " + whyMissing));
        return MethodHandles.dropArguments(throwNew, 0, type.parameterList());
    }

    /** A C string returned by a library (a zero-length segment) as a Java string; "(null)" for NULL. */
    @SuppressWarnings("restricted")
    public static String string(MemorySegment cString) {
        return cString.equals(MemorySegment.NULL) ? "(null)" : cString.reinterpret(Long.MAX_VALUE).getString(0);
    }

    /** {@code t} thrown by {@code invokeExact}, rethrown as is when unchecked. */
    static RuntimeException unchecked(Throwable t) {
        if (t instanceof RuntimeException runtime) {
            return runtime;
        }
        if (t instanceof Error error) {
            throw error;
        }
        return new IllegalStateException("unexpected checked exception from a downcall", t);
    }

    /** Binds the symbols of one library and remembers their names (for the binding tests and reports). */
    static final class Binder {
        private final LoadedLibrary library;
        private final List<String> symbols = new ArrayList<>();

        Binder(CudaLibrary library) {
            this.library = CudaLibraries.get().library(library);
        }

        MethodHandle bind(String symbol, FunctionDescriptor descriptor) {
            symbols.add(symbol);
            String why = library.loaded() ? "not exported by " + library.describe() : library.whyMissing();
            return Downcalls.bind(library.lookupOrNull(), symbol, descriptor, why);
        }

        /** The symbols bound so far. */
        List<String> symbols() {
            return List.copyOf(symbols);
        }
    }
}
