package org.gptneo.parallel.mpi;

import java.util.List;
import java.util.Map;
import org.gptneo.parallel.Communicator;
import org.gptneo.parallel.CommunicatorException;

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

    /**
     * This process's communicator over every rank the launcher started; the caller closes it. Ranks of
     * {@code mpirun} or MPICH's {@code mpiexec} talk through MPI. Ranks started with torchrun's variables
     * alone have no MPI to join: on CPUs they are refused with what to do instead.
     */
    public static Communicator connect() {
        Map<String, String> environment = System.getenv();
        if (environment.containsKey("OMPI_COMM_WORLD_SIZE") || environment.containsKey("PMI_SIZE")) {
            return MpiCommunicator.world();
        }
        throw new CommunicatorException("ranks started with RANK and WORLD_SIZE alone (torchrun style) have no MPI to join;"
                + " start them with mpirun -np N, or run --parallel in one process (ranks as threads)");
    }
}
