package org.gptneo.parallel;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Properties;

/**
 * Where this process sits in a parallel job: its rank, the world size, its rank on its host (which
 * picks its GPU) and, when known, the rendezvous address of rank 0 ({@code MASTER_ADDR:MASTER_PORT},
 * which NCCL's bootstrap takes as {@code NCCL_COMM_ID}).
 *
 * <p>{@link #resolve} takes the first launcher whose rank variable is set, in this order:
 * <ol>
 *   <li>explicit settings: {@value #RANK}, {@value #WORLD_SIZE}, {@value #LOCAL_RANK} (default: the rank,
 *       a job started by hand on one host), {@value #MASTER_ADDR}, {@value #MASTER_PORT};</li>
 *   <li>torchrun / PyTorch {@code env://}: {@code RANK}, {@code WORLD_SIZE}, {@code LOCAL_RANK},
 *       {@code MASTER_ADDR}, {@code MASTER_PORT} (all required);</li>
 *   <li>Open MPI: {@code OMPI_COMM_WORLD_RANK}, {@code OMPI_COMM_WORLD_SIZE}, {@code OMPI_COMM_WORLD_LOCAL_RANK};</li>
 *   <li>PMI (MPICH Hydra, Intel MPI): {@code PMI_RANK}, {@code PMI_SIZE}, {@code MPI_LOCALRANKID};</li>
 *   <li>Slurm: {@code SLURM_PROCID}, {@code SLURM_NTASKS} (older: {@code SLURM_NPROCS}), {@code SLURM_LOCALID};</li>
 *   <li>else a single process: rank 0 of 1.</li>
 * </ol>
 * The rendezvous address of the MPI, PMI, Slurm and single-process cases comes from
 * {@code MASTER_ADDR}/{@code MASTER_PORT} when both are set. A launcher whose rank variable is set but
 * whose other variables are missing, not integers, or contradict each other (a rank outside the world)
 * is an error: {@link IllegalArgumentException} with one line naming the variable.
 */
public record LaunchEnvironment(int rank, int worldSize, int localRank, Optional<String> masterAddress,
                                OptionalInt masterPort, String launcher) {
    /** Explicit setting (a system property, or a CLI option passed in the settings map): this process's rank. */
    public static final String RANK = "gptneo.rank";
    /** Explicit setting: the number of processes. */
    public static final String WORLD_SIZE = "gptneo.world-size";
    /** Explicit setting: the rank on this host (the GPU index). */
    public static final String LOCAL_RANK = "gptneo.local-rank";
    /** Explicit setting: the host of rank 0's rendezvous. */
    public static final String MASTER_ADDR = "gptneo.master-addr";
    /** Explicit setting: the port of rank 0's rendezvous. */
    public static final String MASTER_PORT = "gptneo.master-port";

    private record Launcher(String name, String rank, List<String> size, String localRank) {}

    private static final List<Launcher> LAUNCHERS = List.of(
            new Launcher("torchrun", "RANK", List.of("WORLD_SIZE"), "LOCAL_RANK"),
            new Launcher("Open MPI", "OMPI_COMM_WORLD_RANK", List.of("OMPI_COMM_WORLD_SIZE"), "OMPI_COMM_WORLD_LOCAL_RANK"),
            new Launcher("PMI", "PMI_RANK", List.of("PMI_SIZE"), "MPI_LOCALRANKID"),
            new Launcher("Slurm", "SLURM_PROCID", List.of("SLURM_NTASKS", "SLURM_NPROCS"), "SLURM_LOCALID"));

    public LaunchEnvironment {
        if (worldSize < 1 || rank < 0 || rank >= worldSize || localRank < 0 || localRank >= worldSize) {
            throw new IllegalArgumentException("rank " + rank + ", local rank " + localRank + " and world size "
                    + worldSize + " do not fit together (" + launcher + ")");
        }
        if (masterAddress.isPresent() != masterPort.isPresent()) {
            throw new IllegalArgumentException("a rendezvous needs both an address and a port (" + launcher + ")");
        }
    }

    /** This process's launch: system properties as the explicit settings, and its environment. */
    public static LaunchEnvironment current() {
        Properties system = System.getProperties();
        Map<String, String> settings = new LinkedHashMap<>();
        for (String key : List.of(RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT)) {
            String value = system.getProperty(key);
            if (value != null) {
                settings.put(key, value);
            }
        }
        return resolve(settings, System.getenv());
    }

    /**
     * Resolves the launch from explicit {@code settings} (keys {@link #RANK}, {@link #WORLD_SIZE},
     * {@link #LOCAL_RANK}, {@link #MASTER_ADDR}, {@link #MASTER_PORT}) and environment variables.
     */
    public static LaunchEnvironment resolve(Map<String, String> settings, Map<String, String> environment) {
        Source explicit = new Source(settings, "setting ");
        Source env = new Source(environment, "");
        if (explicit.has(RANK)) {
            try {
                int rank = explicit.integer(RANK);
                int size = explicit.integer(WORLD_SIZE);
                int local = explicit.has(LOCAL_RANK) ? explicit.integer(LOCAL_RANK) : rank;
                return checked(rank, size, local, explicit.has(MASTER_ADDR) || explicit.has(MASTER_PORT)
                        ? rendezvous(explicit, MASTER_ADDR, MASTER_PORT) : rendezvous(env), "explicit settings",
                        RANK, LOCAL_RANK);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("explicit settings (" + RANK + " is given): " + e.getMessage());
            }
        }
        for (String key : List.of(WORLD_SIZE, LOCAL_RANK)) {
            if (explicit.has(key)) {
                throw new IllegalArgumentException("setting " + key + " is given but " + RANK + " is not");
            }
        }
        for (Launcher launcher : LAUNCHERS) {
            if (!env.has(launcher.rank())) {
                continue;
            }
            try {
                String sizeVariable = launcher.size().stream().filter(env::has).findFirst()
                        .orElse(launcher.size().getFirst());
                int rank = env.integer(launcher.rank());
                int size = env.integer(sizeVariable);
                int local = env.integer(launcher.localRank());
                Rendezvous at = launcher.name().equals("torchrun")
                        ? rendezvous(env, "MASTER_ADDR", "MASTER_PORT") : rendezvous(env);
                return checked(rank, size, local, at, launcher.name(), launcher.rank(), launcher.localRank());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(launcher.name() + " launch (" + launcher.rank() + " is set): "
                        + e.getMessage());
            }
        }
        return checked(0, 1, 0, rendezvous(env), "single process", "rank", "local rank");
    }

    /** {@code MASTER_ADDR:MASTER_PORT} when known: the value for {@code NCCL_COMM_ID}. */
    public Optional<String> rendezvous() {
        return masterAddress.map(host -> (host.contains(":") ? "[" + host + "]" : host) + ":" + masterPort.getAsInt());
    }

    /** Whether this is a job of several processes. */
    public boolean distributed() {
        return worldSize > 1;
    }

    private record Rendezvous(Optional<String> address, OptionalInt port) {}

    /** MASTER_ADDR and MASTER_PORT when either is set (then both must be), else none. */
    private static Rendezvous rendezvous(Source env) {
        if (env.has("MASTER_ADDR") != env.has("MASTER_PORT")) {
            String set = env.has("MASTER_ADDR") ? "MASTER_ADDR" : "MASTER_PORT";
            String unset = set.equals("MASTER_ADDR") ? "MASTER_PORT" : "MASTER_ADDR";
            throw new IllegalArgumentException(set + " is set but " + unset + " is not");
        }
        return env.has("MASTER_ADDR") ? rendezvous(env, "MASTER_ADDR", "MASTER_PORT")
                : new Rendezvous(Optional.empty(), OptionalInt.empty());
    }

    private static Rendezvous rendezvous(Source source, String address, String port) {
        String host = source.required(address);
        int number = source.integer(port);
        if (number < 1 || number > 65535) {
            throw new IllegalArgumentException(source.label(port) + "=" + number + " is not a TCP port (1..65535)");
        }
        return new Rendezvous(Optional.of(host), OptionalInt.of(number));
    }

    private static LaunchEnvironment checked(int rank, int size, int local, Rendezvous at, String launcher,
                                             String rankName, String localName) {
        if (size < 1) {
            throw new IllegalArgumentException("the world size is " + size + ", not a positive count");
        }
        if (rank < 0 || rank >= size) {
            throw new IllegalArgumentException(rankName + "=" + rank + " is outside a world of " + size);
        }
        if (local < 0 || local >= size) {
            throw new IllegalArgumentException(localName + "=" + local + " is outside a world of " + size);
        }
        return new LaunchEnvironment(rank, size, local, at.address(), at.port(), launcher);
    }

    /** Named values, read as non-blank strings and integers, with errors naming the key. */
    private record Source(Map<String, String> values, String prefix) {
        boolean has(String key) {
            String value = values.get(key);
            return value != null && !value.isBlank();
        }

        String label(String key) {
            return prefix + key;
        }

        String required(String key) {
            if (!has(key)) {
                throw new IllegalArgumentException(label(key) + " is not set");
            }
            return values.get(key).strip();
        }

        int integer(String key) {
            String value = required(key);
            try {
                return Integer.parseInt(value);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(label(key) + "=" + value + " is not an integer");
            }
        }
    }
}
