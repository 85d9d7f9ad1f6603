package org.gptneo.parallel.mpi;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.gptneo.parallel.CommunicatorException;

/**
 * MPI in this process, initialised once: the library, the thread its calls run on, this rank of
 * {@code MPI_COMM_WORLD}, the {@link PeerWatch}, and {@code MPI_Finalize} at exit (from a shutdown
 * hook, skipped with a one-line report and status 1 when a rank on this host was lost).
 *
 * <p>Settings: {@value #TIMEOUT_PROPERTY} (system property) or {@value #TIMEOUT_VARIABLE}: how many
 * seconds one MPI call (and MPI_Finalize at exit) may wait before this rank gives up and exits (default
 * {@value #DEFAULT_TIMEOUT}; 0: no limit). {@value #THREADS_PROPERTY} or {@value #THREADS_VARIABLE}:
 * {@code multiple} (default) asks for {@code MPI_THREAD_MULTIPLE}, {@code funneled} for
 * {@code MPI_THREAD_FUNNELED}, which keeps every MPI call on the MPI thread (for MPI builds that are slow or
 * unreliable with threads); anything else is an error.
 */
final class MpiWorld {
    static final String TIMEOUT_PROPERTY = "gptneo.mpi.timeout";
    static final String TIMEOUT_VARIABLE = "GPTNEO_MPI_TIMEOUT";
    static final long DEFAULT_TIMEOUT = 300;
    static final String THREADS_PROPERTY = "gptneo.mpi.threads";
    static final String THREADS_VARIABLE = "GPTNEO_MPI_THREADS";
    /** {@code MPI_THREAD_FUNNELED}: 1 in all three ABIs. */
    private static final int THREAD_FUNNELED = 1;
    /** Bytes per rank in the start-up exchange: pid, start time, host key. */
    private static final int PEER_BYTES = 320;

    private static MpiWorld instance;
    private static CommunicatorException failure;

    final Mpi mpi;
    final MpiThread thread;
    final int rank;
    final int size;
    final String name;
    final PeerWatch watch;
    private final long timeoutSeconds;
    private volatile boolean finalized;

    private MpiWorld(Mpi mpi, MpiThread thread, int rank, int size, String name, PeerWatch watch, long timeoutSeconds) {
        this.mpi = mpi;
        this.thread = thread;
        this.rank = rank;
        this.size = size;
        this.name = name;
        this.watch = watch;
        this.timeoutSeconds = timeoutSeconds;
    }

    /** The process's MPI, initialised on the first call; a failure is remembered and thrown again. */
    static synchronized MpiWorld get() {
        if (failure != null) {
            throw failure;
        }
        if (instance == null) {
            try {
                instance = start(MpiProbe.load());
            } catch (CommunicatorException e) {
                failure = e;
                throw e;
            }
        }
        return instance;
    }

    private static MpiWorld start(MpiLibrary.Found library) {
        Mpi mpi;
        try {
            mpi = new Mpi(library.lookup(), library.abi().constants(library.lookup()), library.candidate().target());
        } catch (IllegalStateException e) {
            throw new CommunicatorException("MPI from " + library.candidate() + " is unusable: " + e.getMessage());
        }
        int required = requiredThreadLevel(mpi);
        long timeout = timeoutSetting();
        MpiThread thread = new MpiThread();
        int[] rankSize = thread.call(() -> initialise(mpi, required));
        if (rankSize[2] == mpi.constants().threadMultiple()) {
            thread.allowAnyThread();
        }
        int rank = rankSize[0];
        int size = rankSize[1];
        List<PeerWatch.Peer> peers = thread.call(() -> exchangePeers(mpi, rank, size));
        PeerWatch watch = new PeerWatch(rank, size, peers, timeout, System.err, Runtime.getRuntime()::halt);
        MpiWorld world = new MpiWorld(mpi, thread, rank, size, "mpi (" + shortVersion(library.version()) + ")", watch, timeout);
        watch.start();
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("gptneo-mpi-exit").unstarted(world::exit));
        abandonOnUncaughtException(Thread.currentThread(), world);
        return world;
    }

    /**
     * When {@code thread} (the one that started MPI: the rank's main work) dies of an exception, the rank
     * leaves at once without MPI_Finalize, after the thread's usual handler has reported the exception: a
     * normal exit would wait in MPI_Finalize for ranks that are waiting for this one.
     */
    private static void abandonOnUncaughtException(Thread thread, MpiWorld world) {
        Thread.UncaughtExceptionHandler previous = thread.getUncaughtExceptionHandler();
        thread.setUncaughtExceptionHandler((t, e) -> {
            previous.uncaughtException(t, e);
            world.abandon("its thread " + t.getName() + " died of " + e);
        });
    }

    /** The process's MPI if it has been started, else null (nothing to finalise or abandon). */
    static synchronized MpiWorld started() {
        return instance;
    }

    /**
     * Ends the process at once with status {@value PeerWatch#EXIT_STATUS}, without MPI_Finalize, after one
     * line "gptneo mpi: rank r of n leaves without MPI_Finalize: {@code reason}". The launcher then ends the
     * job, or the other ranks' watches report this rank lost.
     */
    void abandon(String reason) {
        watch.fail("leaves without MPI_Finalize: " + reason);
    }

    /**
     * The library's version line up to its first comma, "Version:" dropped and spaces collapsed: "Open MPI
     * v4.1.4" of "Open MPI v4.1.4, package: Debian OpenMPI, ...", "MPICH 4.0.2" of "MPICH Version:\t4.0.2".
     */
    static String shortVersion(String line) {
        int comma = line.indexOf(',');
        return (comma < 0 ? line : line.substring(0, comma)).replace("Version:", " ").strip().replaceAll("\\s+", " ");
    }

    /** MPI_Init_thread asking for {@code required}, errors returned on the world: {rank, size, provided}. */
    private static int[] initialise(Mpi mpi, int required) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment flag = arena.allocate(JAVA_INT);
            mpi.check(mpi.finalized(flag), "MPI_Finalized");
            if (flag.get(JAVA_INT, 0) != 0) {
                throw new CommunicatorException("MPI has been finalised in this process and cannot start again");
            }
            MemorySegment provided = arena.allocate(JAVA_INT);
            mpi.check(mpi.initThread(required, provided), "MPI_Init_thread");
            long world = mpi.constants().commWorld();
            mpi.check(mpi.commSetErrhandler(world, mpi.constants().errorsReturn()), "MPI_Comm_set_errhandler");
            MemorySegment value = arena.allocate(JAVA_INT);
            mpi.check(mpi.commRank(world, value), "MPI_Comm_rank");
            int rank = value.get(JAVA_INT, 0);
            mpi.check(mpi.commSize(world, value), "MPI_Comm_size");
            return new int[] {rank, value.get(JAVA_INT, 0), provided.get(JAVA_INT, 0)};
        }
    }

    /** Every rank's pid, start time and host key, gathered with MPI_Allgather. */
    private static List<PeerWatch.Peer> exchangePeers(Mpi mpi, int rank, int size) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment name = arena.allocate(Mpi.PROCESSOR_NAME_BYTES + 1);
            MemorySegment length = arena.allocate(JAVA_INT);
            mpi.check(mpi.getProcessorName(name, length), "MPI_Get_processor_name");
            PeerWatch.Peer self = PeerWatch.self(rank, hostKey(name.getString(0)));
            MemorySegment mine = arena.allocate(PEER_BYTES);
            mine.set(JAVA_LONG_UNALIGNED, 0, self.pid());
            mine.set(JAVA_LONG_UNALIGNED, 8, self.startMillis());
            byte[] host = self.host().getBytes(StandardCharsets.UTF_8);
            MemorySegment.copy(host, 0, mine, JAVA_BYTE, 16, Math.min(host.length, PEER_BYTES - 17));
            MemorySegment all = arena.allocate((long) PEER_BYTES * size);
            long bytes = mpi.constants().typeByte();
            mpi.check(mpi.allgather(mine, PEER_BYTES, bytes, all, PEER_BYTES, bytes, mpi.constants().commWorld()),
                    "MPI_Allgather (start-up exchange of process ids)");
            List<PeerWatch.Peer> peers = new ArrayList<>();
            for (int r = 0; r < size; r++) {
                MemorySegment record = all.asSlice((long) r * PEER_BYTES, PEER_BYTES);
                peers.add(new PeerWatch.Peer(r, record.get(JAVA_LONG_UNALIGNED, 0), record.get(JAVA_LONG_UNALIGNED, 8),
                        record.asSlice(16).getString(0)));
            }
            return peers;
        }
    }

    /** The processor name and this process's pid namespace: ranks with equal keys can see each other's pids. */
    private static String hostKey(String processorName) {
        try {
            return processorName + " " + Files.readSymbolicLink(Path.of("/proc/self/ns/pid"));
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return processorName;
        }
    }

    /** A system property, else an environment variable, else {@code fallback}, stripped and lower-cased. */
    private static String setting(String property, String variable, String fallback) {
        String value = System.getProperty(property, System.getenv(variable));
        return value == null || value.isBlank() ? fallback : value.strip().toLowerCase(Locale.ROOT);
    }

    private static int requiredThreadLevel(Mpi mpi) {
        String threads = setting(THREADS_PROPERTY, THREADS_VARIABLE, "multiple");
        return switch (threads) {
            case "multiple" -> mpi.constants().threadMultiple();
            case "funneled" -> THREAD_FUNNELED;
            default -> throw new CommunicatorException(THREADS_PROPERTY + " takes multiple or funneled, got '" + threads + "'");
        };
    }

    private static long timeoutSetting() {
        String setting = setting(TIMEOUT_PROPERTY, TIMEOUT_VARIABLE, String.valueOf(DEFAULT_TIMEOUT));
        try {
            long seconds = Long.parseLong(setting.strip());
            if (seconds >= 0) {
                return seconds;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new CommunicatorException(TIMEOUT_PROPERTY + " takes a number of seconds (0: no limit), got '" + setting + "'");
    }

    /**
     * Runs one MPI operation of this rank, watched: a failure names the lost ranks when there are any,
     * and an operation after MPI_Finalize is refused.
     */
    <T> T run(String what, Callable<T> work) {
        if (finalized) {
            throw new CommunicatorException(what + ": MPI has been finalised (the process is exiting)");
        }
        watch.enter(what);
        try {
            return thread.call(work);
        } catch (CommunicatorException e) {
            String lost = watch.describeLost();
            throw lost.isEmpty() ? e : new CommunicatorException("rank " + rank + " of " + size + " " + lost
                    + " during " + what + ": " + e.getMessage(), e);
        } finally {
            watch.leave();
        }
    }

    /**
     * The shutdown hook: a lost rank, or a call still in flight (the process is being stopped), ends the
     * process with its report; otherwise MPI_Finalize, which waits for every rank to reach it (a rank
     * still working, saving a checkpoint say, keeps the others there), within the call timeout.
     */
    private void exit() {
        watch.stop();
        String lost = watch.describeLost();
        if (!lost.isEmpty()) {
            watch.fail(lost + watch.during());
        }
        String during = watch.during();
        if (!during.isEmpty()) {
            watch.fail("was stopped" + during + " (no rank on this host was lost; a rank on another host may have failed)");
        }
        finalized = true;
        try {
            thread.callWithin(() -> {
                mpi.check(mpi.finalizeMpi(), "MPI_Finalize");
                return null;
            }, timeoutSeconds);
        } catch (CommunicatorException e) {
            watch.fail("could not finalise MPI: " + e.getMessage());
        }
    }
}
