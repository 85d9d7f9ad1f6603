package org.gptneo.parallel;

import java.util.List;
import java.util.Map;

/**
 * The world of a process started by a launcher ({@code mpirun}, {@code torchrun}, Slurm's
 * {@code srun}), which tells each process its rank through environment variables.
 */
public final class LauncherWorld {
    /** Variables that a launcher sets in every process it starts, and a lone process lacks. */
    private static final List<String> MARKERS = List.of("WORLD_SIZE", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE");

    private LauncherWorld() {
    }

    /** Whether {@code environment} (a process's) says a launcher started this process as one of several ranks. */
    public static boolean launched(Map<String, String> environment) {
        return MARKERS.stream().anyMatch(environment::containsKey);
    }

    /** This process's communicator over every rank the launcher started; the caller closes it. */
    public static Communicator connect() {
        throw new CommunicatorException("MPI launch is not wired in this build");
    }
}
