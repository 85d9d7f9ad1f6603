package org.gptneo.parallel.mpi;

import java.util.Map;
import java.util.TreeMap;
import org.gptneo.parallel.CommunicatorException;

/**
 * Whether this process can use MPI: the library search of {@link MpiLibrary}, done once per process,
 * without initialising MPI. Never throws.
 *
 * @param available   whether an MPI library of a known ABI is loaded
 * @param description which library and ABI ("Open MPI v4.1.4 (Open MPI ABI) from libmpi.so.40 (Open
 *                    MPI soname)"), or why there is none, naming every candidate and its {@code dlerror()}
 */
public record MpiProbe(boolean available, String description) {

    /** The process-wide outcome of the search. */
    public static MpiProbe probe() {
        MpiLibrary.Outcome outcome = Search.OUTCOME;
        return outcome.found().map(f -> new MpiProbe(true, f.version() + " (" + f.abi().description() + " ABI) from "
                + f.candidate())).orElseGet(() -> new MpiProbe(false, outcome.whyMissing()));
    }

    /** The loaded library, or a {@link CommunicatorException} saying why there is none. */
    static MpiLibrary.Found load() {
        MpiLibrary.Outcome outcome = Search.OUTCOME;
        return outcome.found().orElseThrow(() -> new CommunicatorException(outcome.whyMissing()));
    }

    private static final class Search {
        static final MpiLibrary.Outcome OUTCOME = search();

        private static MpiLibrary.Outcome search() {
            Map<String, String> properties = new TreeMap<>();
            for (String key : System.getProperties().stringPropertyNames()) {
                properties.put(key, System.getProperty(key));
            }
            UcxSignals.leaveFaultSignalsToTheJvm();   // before any MPI library, and UCX with it, is loaded
            return MpiLibrary.load(MpiLibrary.candidates(properties, System.getenv()));
        }
    }
}
