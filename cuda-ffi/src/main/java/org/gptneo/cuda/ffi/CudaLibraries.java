package org.gptneo.cuda.ffi;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Which CUDA libraries this process has, found and loaded once on first use (searched with
 * {@link SearchEnvironment#current()}). Never throws: a library that cannot be found is an outcome.
 */
public record CudaLibraries(Map<CudaLibrary, LoadedLibrary> libraries) {

    public CudaLibraries {
        libraries = Map.copyOf(libraries);
    }

    /** The process-wide outcome, computed on the first call. */
    public static CudaLibraries get() {
        return Holder.INSTANCE;
    }

    /** The outcome for one library. */
    public LoadedLibrary library(CudaLibrary library) {
        return libraries.get(library);
    }

    /** Searches and loads every library; a failure of the search itself leaves every library missing. */
    static CudaLibraries load(SearchEnvironment env) {
        try {
            return new CudaLibraries(NativeLoader.loadAll(LibrarySearch.candidates(env)));
        } catch (RuntimeException | LinkageError e) {
            Map<CudaLibrary, LoadedLibrary> none = new EnumMap<>(CudaLibrary.class);
            for (CudaLibrary library : CudaLibrary.values()) {
                none.put(library, LoadedLibrary.missing(library,
                        List.of(new LoadedLibrary.Failure(Candidate.bare(library), "library search failed: " + e))));
            }
            return new CudaLibraries(none);
        }
    }

    private static final class Holder {
        static final CudaLibraries INSTANCE = load(SearchEnvironment.current());
    }
}
