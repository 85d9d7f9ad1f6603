package org.gptneo.cuda.ffi;

import java.lang.foreign.SymbolLookup;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The outcome of loading one library: its symbols when loaded, the candidate it came from, its
 * version as far as the resolved file name tells it ("libcudart.so.13.0.96" → "13.0.96",
 * "libcudart.so.13" → "13"), the companion files
 * loaded before it ({@link CudaLibrary#companions()}), and every candidate (or companion) that failed,
 * with the loader's error.
 */
public record LoadedLibrary(CudaLibrary library, Optional<SymbolLookup> lookup, Optional<Candidate> loadedFrom,
                            Optional<String> version, List<Path> companions, List<Failure> failures) {

    /** A candidate that did not load, and the loader's {@code dlerror()} text. */
    public record Failure(Candidate candidate, String error) {
        @Override
        public String toString() {
            return candidate + ": " + error;
        }
    }

    public LoadedLibrary {
        companions = List.copyOf(companions);
        failures = List.copyOf(failures);
    }

    /** Whether the library is loaded. */
    public boolean loaded() {
        return lookup.isPresent();
    }

    /** A library that was not loaded. */
    public static LoadedLibrary missing(CudaLibrary library, List<Failure> failures) {
        return new LoadedLibrary(library, Optional.empty(), Optional.empty(), Optional.empty(), List.of(), failures);
    }

    /** The lookup, or null when the library is not loaded (for {@link Downcalls#bind}). */
    public SymbolLookup lookupOrNull() {
        return lookup.orElse(null);
    }

    /** Why the library is not loaded: "libcuda.so.1 not found (tried libcuda.so.1 (system loader): ...)". */
    public String whyMissing() {
        if (loaded()) {
            return library.soname() + " is loaded";
        }
        return library.soname() + " not found (tried "
                + failures.stream().map(Failure::toString).collect(Collectors.joining("; ")) + ")";
    }

    /** Where it was loaded from: "libcudart.so.13 loaded from /x/y (user site)". */
    public String describe() {
        return loadedFrom.map(c -> library.soname() + " loaded from " + c).orElseGet(this::whyMissing);
    }
}
