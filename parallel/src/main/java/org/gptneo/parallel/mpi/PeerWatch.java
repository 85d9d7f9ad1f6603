package org.gptneo.parallel.mpi;

import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntConsumer;
import java.util.stream.Collectors;

/**
 * Turns a lost rank into a prompt exit of every other rank, for MPI libraries that neither report a
 * dead peer nor time out (Open MPI 4.1 leaves a collective waiting on a dead rank forever when the
 * launcher does not kill the job; under {@code mpirun} the survivors are killed without a word).
 *
 * <p>Each rank knows every rank's process id, start time and host (exchanged once through MPI at
 * start). A daemon thread looks every {@value #POLL_MILLIS} ms whether a rank on this host has
 * exited, and whether a call of this rank has been waiting longer than the timeout; either ends the
 * process with status 1 and one line on standard error naming the lost rank (or the call that timed
 * out), e.g. {@code gptneo mpi: rank 0 of 2 lost rank 1 (pid 4242 on host node7 exited) during allReduce}.
 * Ranks on other hosts cannot be watched this way: their loss shows as the call's timeout, or as the
 * launcher ending the job.
 */
final class PeerWatch {
    static final int POLL_MILLIS = 200;
    /** The exit status of a rank that stops because another was lost or a call timed out. */
    static final int EXIT_STATUS = 1;

    /** One rank's process: its pid, start time (ms since the epoch, 0 when unknown) and host key. */
    record Peer(int rank, long pid, long startMillis, String host) {}

    private record Call(String what, long startNanos) {}

    private final int rank;
    private final int size;
    private final List<Peer> peers;
    private final long timeoutNanos;
    private final PrintStream err;
    private final IntConsumer halt;
    private final Map<Thread, Call> inFlight = new ConcurrentHashMap<>();
    private final AtomicBoolean stopped = new AtomicBoolean();
    private final AtomicBoolean reported = new AtomicBoolean();

    /**
     * Watches {@code peers} (every rank, this one included) for rank {@code rank} of {@code size};
     * {@code timeoutSeconds} 0 waits without limit. Reports go to {@code err}, and {@code halt} ends the
     * process ({@code Runtime.getRuntime()::halt}: no shutdown hooks, which would try to finalise MPI).
     */
    PeerWatch(int rank, int size, List<Peer> peers, long timeoutSeconds, PrintStream err, IntConsumer halt) {
        this.rank = rank;
        this.size = size;
        this.peers = List.copyOf(peers);
        this.timeoutNanos = timeoutSeconds * 1_000_000_000L;
        this.err = err;
        this.halt = halt;
    }

    /** This process as a peer: its pid and start time. */
    static Peer self(int rank, String host) {
        ProcessHandle me = ProcessHandle.current();
        return new Peer(rank, me.pid(), me.info().startInstant().map(Instant::toEpochMilli).orElse(0L), host);
    }

    /** Starts the watching thread. */
    void start() {
        Thread.ofPlatform().name("gptneo-mpi-watch").daemon(true).start(this::watch);
    }

    /** Stops watching (before a normal MPI_Finalize, when the other ranks may exit at any time). */
    void stop() {
        stopped.set(true);
    }

    /** Marks the calling thread as waiting in {@code what} (an MPI call of this rank). */
    void enter(String what) {
        inFlight.put(Thread.currentThread(), new Call(what, System.nanoTime()));
    }

    /** The calling thread's call returned. */
    void leave() {
        inFlight.remove(Thread.currentThread());
    }

    /** The ranks on this host whose process has exited (or whose pid now belongs to another process). */
    List<Peer> lost() {
        String here = peers.get(rank).host();
        List<Peer> lost = new ArrayList<>();
        for (Peer peer : peers) {
            if (peer.rank() != rank && peer.host().equals(here) && gone(peer)) {
                lost.add(peer);
            }
        }
        return lost;
    }

    private static boolean gone(Peer peer) {
        Optional<ProcessHandle> process = ProcessHandle.of(peer.pid());
        if (process.isEmpty() || !process.get().isAlive()) {
            return true;
        }
        long started = process.get().info().startInstant().map(Instant::toEpochMilli).orElse(0L);
        return peer.startMillis() != 0 && started != 0 && started != peer.startMillis();
    }

    /** "lost rank 1 (pid 4242 on host node7 exited)", or "" when no rank is known to be lost. */
    String describeLost() {
        List<Peer> lost = lost();
        if (lost.isEmpty()) {
            return "";
        }
        return "lost rank" + (lost.size() == 1 ? " " : "s ") + lost.stream()
                .map(p -> p.rank() + " (pid " + p.pid() + " on host " + hostName(p.host()) + " exited)")
                .collect(Collectors.joining(", "));
    }

    /** What this rank is waiting in: " during allReduce", or "" when no call is in flight. */
    String during() {
        return inFlight.values().stream().findFirst().map(c -> " during " + c.what()).orElse("");
    }

    /**
     * Prints "gptneo mpi: rank r of n {@code what}" once, stops watching and ends the process with status
     * {@value #EXIT_STATUS}.
     */
    void fail(String what) {
        if (reported.compareAndSet(false, true)) {
            err.println("gptneo mpi: rank " + rank + " of " + size + " " + what);
            err.flush();
        }
        stopped.set(true);
        halt.accept(EXIT_STATUS);
    }

    private void watch() {
        while (!stopped.get()) {
            String lost = describeLost();
            if (!lost.isEmpty() && !stopped.get()) {
                fail(lost + during());
            }
            if (timeoutNanos > 0 && !stopped.get()) {
                long now = System.nanoTime();
                for (Call call : inFlight.values()) {
                    if (now - call.startNanos() > timeoutNanos && !stopped.get()) {
                        fail("gave up on " + call.what() + " after " + timeoutNanos / 1_000_000_000L
                                + " s without an answer (no rank on this host was lost; a rank on another host may have failed)");
                    }
                }
            }
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** The host part of a host key ("node7" of "node7 pid:[4026531836]"). */
    private static String hostName(String hostKey) {
        int space = hostKey.indexOf(' ');
        return space < 0 ? hostKey : hostKey.substring(0, space);
    }
}
