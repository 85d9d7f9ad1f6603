package org.gptneo.cuda.ffi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Loads libraries into the global arena (they stay loaded for the life of the process), trying the
 * candidates of {@link LibrarySearch} in order. {@link SymbolLookup#libraryLookup} hides the loader's
 * reason for a failure, so a failed candidate is opened once more with {@code dlopen} to read
 * {@code dlerror()}.
 */
public final class NativeLoader {
    private static final int RTLD_NOW = 2;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final Optional<MethodHandle> DLOPEN = libc("dlopen", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
    private static final Optional<MethodHandle> DLERROR = libc("dlerror", FunctionDescriptor.of(ADDRESS));
    private static final Optional<MethodHandle> DLCLOSE = libc("dlclose", FunctionDescriptor.of(JAVA_INT, ADDRESS));

    private NativeLoader() {}

    /**
     * Tries {@code candidates} in order; the first that loads wins. Before a file candidate, its
     * companions in the same folder are loaded (sorted by name; a failed one is recorded, not fatal).
     */
    public static LoadedLibrary load(CudaLibrary library, List<Candidate> candidates) {
        List<LoadedLibrary.Failure> failures = new ArrayList<>();
        for (Candidate candidate : candidates) {
            List<Path> companions = candidate.path().map(path -> loadCompanions(library, path, candidate, failures))
                    .orElse(List.of());
            try {
                return new LoadedLibrary(library, Optional.of(open(candidate.path(), candidate.soname())),
                        Optional.of(candidate), candidate.path().flatMap(path -> version(library, path)), companions,
                        failures);
            } catch (IllegalArgumentException | IllegalCallerException e) {
                failures.add(new LoadedLibrary.Failure(candidate, loaderError(candidate.target(), e)));
            }
        }
        return LoadedLibrary.missing(library, failures);
    }

    @SuppressWarnings("restricted")
    private static SymbolLookup open(Optional<Path> path, String soname) {
        return path.isPresent() ? SymbolLookup.libraryLookup(path.get(), Arena.global())
                : SymbolLookup.libraryLookup(soname, Arena.global());
    }

    private static List<Path> loadCompanions(CudaLibrary library, Path path, Candidate candidate,
                                             List<LoadedLibrary.Failure> failures) {
        if (library.companions().isEmpty() || path.getParent() == null) {
            return List.of();
        }
        Pattern names = library.companions().get();
        List<Path> files;
        try (Stream<Path> children = Files.list(path.getParent())) {
            files = children.filter(p -> names.matcher(p.getFileName().toString()).matches()).sorted().toList();
        } catch (IOException | SecurityException e) {
            return List.of();
        }
        List<Path> loaded = new ArrayList<>();
        for (Path file : files) {
            try {
                open(Optional.of(file), file.getFileName().toString());
                loaded.add(file);
            } catch (IllegalArgumentException | IllegalCallerException e) {
                failures.add(new LoadedLibrary.Failure(
                        Candidate.file(library, file, "companion of " + candidate.target()), loaderError(file.toString(), e)));
            }
        }
        return loaded;
    }

    /** The version in the resolved file name after ".so." ("13.0.96" for libcudart.so.13.0.96, "13" for libcudart.so.13). */
    private static Optional<String> version(CudaLibrary library, Path path) {
        try {
            String real = path.toRealPath().getFileName().toString();
            String prefix = library.soname().substring(0, library.soname().indexOf(".so") + 4);
            return real.startsWith(prefix) && real.length() > prefix.length()
                    ? Optional.of(real.substring(prefix.length())) : Optional.empty();
        } catch (IOException | SecurityException e) {
            return Optional.empty();
        }
    }

    /** {@code dlerror()} after opening {@code target} again, or the JDK's message when that is unavailable. */
    static String loaderError(String target, RuntimeException failure) {
        if (DLOPEN.isEmpty() || DLERROR.isEmpty()) {
            return failure.getMessage();
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = (MemorySegment) DLOPEN.get().invokeExact(arena.allocateFrom(target), RTLD_NOW);
            if (!handle.equals(MemorySegment.NULL)) {
                int closed = (int) DLCLOSE.orElseThrow().invokeExact(handle);
                return failure.getMessage() + " (dlopen succeeded on a second try, rc " + closed + " closing it)";
            }
            MemorySegment error = (MemorySegment) DLERROR.get().invokeExact();
            return error.equals(MemorySegment.NULL) ? failure.getMessage() : Downcalls.string(error);
        } catch (Throwable t) {
            return failure.getMessage() + " (dlerror unavailable: " + t + ")";
        }
    }

    @SuppressWarnings("restricted")
    private static Optional<MethodHandle> libc(String name, FunctionDescriptor descriptor) {
        return LIBC.find(name).map(symbol -> LINKER.downcallHandle(symbol, descriptor));
    }
}
