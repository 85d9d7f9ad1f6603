package org.gptneo.parallel.mpi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Finds and loads the MPI library and tells its ABI. Candidates, in order: the file or soname named by
 * the system property {@value #PROPERTY} or else the environment variable {@value #VARIABLE}, then
 * {@code libmpi.so.40} (Open MPI), {@code libmpich.so.12} (MPICH), {@code libmpi_abi.so} (the MPI-5
 * standard ABI), each handed to the system loader. A library is opened with {@code RTLD_GLOBAL}, as MPI
 * needs: Open MPI's plug-ins, opened by Open MPI itself, resolve their symbols against it. A candidate
 * that does not load is reported with the loader's {@code dlerror()} text.
 */
final class MpiLibrary {
    /** The system property naming the MPI library (a path or a soname). */
    static final String PROPERTY = "gptneo.mpi.library";
    /** The environment variable naming the MPI library, used when the property is unset. */
    static final String VARIABLE = "GPTNEO_MPI_LIBRARY";
    /** {@code MPI_MAX_LIBRARY_VERSION_STRING} of MPICH and the standard ABI, the largest of the three. */
    static final int VERSION_BYTES = 8192;

    private static final int RTLD_NOW = 2;
    private static final int RTLD_GLOBAL = 0x100;
    private static final Linker LINKER = Linker.nativeLinker();

    /** A place to load MPI from, and why it is tried ("gptneo.mpi.library", "Open MPI soname"). */
    record Candidate(String target, String origin) {
        @Override
        public String toString() {
            return target + " (" + origin + ")";
        }
    }

    /** A loaded MPI library: its symbols, its ABI, where it came from and its version line. */
    record Found(SymbolLookup lookup, MpiAbi abi, Candidate candidate, String version) {}

    /** The outcome of the search: the library, or every candidate's failure. */
    record Outcome(Optional<Found> found, List<String> failures) {
        Outcome {
            failures = List.copyOf(failures);
        }

        /** "no MPI library could be loaded (tried ...)", for a library that is absent. */
        String whyMissing() {
            return "no MPI library could be loaded (tried " + String.join("; ", failures) + ")";
        }
    }

    private MpiLibrary() {}

    /** The candidates for these system properties and environment variables, in the order tried. */
    static List<Candidate> candidates(Map<String, String> properties, Map<String, String> environment) {
        List<Candidate> list = new ArrayList<>();
        String property = properties.get(PROPERTY);
        String variable = environment.get(VARIABLE);
        if (property != null && !property.isBlank()) {
            list.add(new Candidate(property.strip(), PROPERTY));
        } else if (variable != null && !variable.isBlank()) {
            list.add(new Candidate(variable.strip(), VARIABLE));
        }
        for (MpiAbi abi : MpiAbi.values()) {
            list.add(new Candidate(abi.soname(), abi.description() + " soname"));
        }
        return List.copyOf(list);
    }

    /** Loads the first candidate that opens and whose ABI is recognised. */
    static Outcome load(List<Candidate> candidates) {
        List<String> failures = new ArrayList<>();
        for (Candidate candidate : candidates) {
            try {
                SymbolLookup lookup = open(candidate.target());
                String version = version(lookup);
                return new Outcome(Optional.of(new Found(lookup, detect(candidate.target(), lookup, version), candidate,
                        version)), failures);
            } catch (IllegalStateException | IllegalArgumentException | IllegalCallerException e) {
                failures.add(candidate + ": " + e.getMessage());
            }
        }
        return new Outcome(Optional.empty(), failures);
    }

    /**
     * The ABI of a loaded library: the standard ABI by its file name, Open MPI by its data symbol
     * {@code ompi_mpi_comm_world}, the MPICH family by its version line; anything else is refused.
     */
    static MpiAbi detect(String target, SymbolLookup lookup, String version) {
        String file = target.substring(target.lastIndexOf('/') + 1);
        if (file.startsWith("libmpi_abi.so")) {
            return MpiAbi.STANDARD;
        }
        if (lookup.find("ompi_mpi_comm_world").isPresent()) {
            return MpiAbi.OPEN_MPI;
        }
        if (version.contains("MPICH") || version.contains("MVAPICH") || version.startsWith("Intel(R) MPI")) {
            return MpiAbi.MPICH;
        }
        throw new IllegalStateException("an MPI library of unknown ABI (neither Open MPI's data symbols nor an MPICH "
                + "version line): '" + version + "'");
    }

    /** Opens {@code target} with {@code RTLD_NOW | RTLD_GLOBAL}; the message of a failure is {@code dlerror()}. */
    @SuppressWarnings("restricted")
    private static SymbolLookup open(String target) {
        SymbolLookup libc = LINKER.defaultLookup();
        MethodHandle dlopen = LINKER.downcallHandle(libc.find("dlopen").orElseThrow(),
                FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
        MethodHandle dlerror = LINKER.downcallHandle(libc.find("dlerror").orElseThrow(), FunctionDescriptor.of(ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = (MemorySegment) dlopen.invokeExact(arena.allocateFrom(target), RTLD_NOW | RTLD_GLOBAL);
            if (handle.equals(MemorySegment.NULL)) {
                MemorySegment error = (MemorySegment) dlerror.invokeExact();
                throw new IllegalStateException(error.equals(MemorySegment.NULL) ? "dlopen failed"
                        : error.reinterpret(Long.MAX_VALUE).getString(0));
            }
        } catch (IllegalStateException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("dlopen failed: " + t);
        }
        // the library is in the process now (global, never closed): this lookup only names its symbols
        return SymbolLookup.libraryLookup(target, Arena.global());
    }

    /** The first line of {@code MPI_Get_library_version} (callable before MPI is initialised). */
    @SuppressWarnings("restricted")
    private static String version(SymbolLookup lookup) {
        MemorySegment symbol = lookup.find("MPI_Get_library_version").orElseThrow(() ->
                new IllegalStateException("MPI_Get_library_version is not exported: not an MPI library"));
        MethodHandle call = LINKER.downcallHandle(symbol, FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment text = arena.allocate(VERSION_BYTES);
            MemorySegment length = arena.allocate(JAVA_INT);
            int rc = (int) call.invokeExact(text, length);
            if (rc != 0) {
                throw new IllegalStateException("MPI_Get_library_version returned " + rc);
            }
            return text.getString(0).lines().findFirst().orElse("").strip();
        } catch (IllegalStateException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("MPI_Get_library_version failed: " + t);
        }
    }
}
