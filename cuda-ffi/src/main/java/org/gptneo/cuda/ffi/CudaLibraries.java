package org.gptneo.cuda.ffi;

import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which CUDA libraries this process has (searched with {@link SearchEnvironment#current()}), each
 * loaded on the first call that asks for it, after every library before it in {@link CudaLibrary}
 * order (dependencies first, as when all were loaded at once). A probe that finds no device then
 * loads only the driver and the runtime: loading all of them (cuBLASLt, NVRTC, cuDNN and its
 * sub-libraries, NCCL) on a machine with NVIDIA's wheels but no GPU cost a CPU run 1.1-1.6 s and
 * 200-240 MB of resident memory. Never throws: a library that cannot be found is an outcome.
 */
public final class CudaLibraries {
    /** Where to look for each library; null when the search itself failed. */
    private final Map<CudaLibrary, List<Candidate>> candidates;
    private final String searchFailure;
    private final Map<CudaLibrary, LoadedLibrary> loaded = new EnumMap<>(CudaLibrary.class);

    private CudaLibraries(Map<CudaLibrary, List<Candidate>> candidates, String searchFailure) {
        this.candidates = candidates;
        this.searchFailure = searchFailure;
    }

    /** The process-wide outcome, searched on the first call. */
    public static CudaLibraries get() {
        return Holder.INSTANCE;
    }

    /** The outcome for one library, loading it (and the libraries before it) if no call has yet. */
    public synchronized LoadedLibrary library(CudaLibrary library) {
        for (CudaLibrary each : CudaLibrary.values()) {
            if (each.ordinal() > library.ordinal()) break;
            loaded.computeIfAbsent(each, this::load);
        }
        return loaded.get(library);
    }

    /** Every library's outcome, loading those not loaded yet. */
    public Map<CudaLibrary, LoadedLibrary> libraries() {
        CudaLibrary[] all = CudaLibrary.values();
        library(all[all.length - 1]);
        synchronized (this) {
            return Collections.unmodifiableMap(new EnumMap<>(loaded));
        }
    }

    /** The libraries tried so far (loaded or not), in loading order. */
    synchronized Set<CudaLibrary> tried() {
        Set<CudaLibrary> tried = EnumSet.noneOf(CudaLibrary.class);
        tried.addAll(loaded.keySet());
        return Collections.unmodifiableSet(tried);
    }

    private LoadedLibrary load(CudaLibrary library) {
        if (candidates == null) {
            return LoadedLibrary.missing(library, List.of(new LoadedLibrary.Failure(Candidate.bare(library), searchFailure)));
        }
        List<Candidate> tried = candidates.getOrDefault(library, List.of(Candidate.bare(library)));
        try {
            return NativeLoader.load(library, tried);
        } catch (RuntimeException | LinkageError e) {
            return LoadedLibrary.missing(library, List.of(new LoadedLibrary.Failure(Candidate.bare(library), "loading failed: " + e)));
        }
    }

    /** Searches for every library now and loads each when asked; a failed search leaves every library missing. */
    static CudaLibraries load(SearchEnvironment env) {
        try {
            return new CudaLibraries(LibrarySearch.candidates(env), null);
        } catch (RuntimeException | LinkageError e) {
            return new CudaLibraries(null, "library search failed: " + e);
        }
    }

    private static final class Holder {
        static final CudaLibraries INSTANCE = load(SearchEnvironment.current());
    }
}
