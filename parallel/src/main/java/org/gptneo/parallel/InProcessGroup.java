package org.gptneo.parallel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The meeting point of one in-process group's ranks: a generation-counted rendezvous at which every
 * rank posts an object and receives every rank's post, mailboxes for point-to-point messages, and
 * which ranks have closed. All state is guarded by the world's lock.
 */
final class InProcessGroup {
    private final InProcessWorld world;
    private final int[] worldRanks;           // group rank → world rank (for messages)
    private final boolean[] closed;
    private final ArrayDeque<byte[]>[][] mail; // [source][destination]: FIFO of messages in flight
    private long generation;
    private int arrived;
    private Object[] posts;
    private String[] calls;

    @SuppressWarnings("unchecked")
    InProcessGroup(InProcessWorld world, int[] worldRanks) {
        this.world = world;
        this.worldRanks = worldRanks.clone();
        int n = worldRanks.length;
        this.closed = new boolean[n];
        this.mail = new ArrayDeque[n][n];
        for (ArrayDeque<byte[]>[] row : mail) {
            for (int j = 0; j < n; j++) row[j] = new ArrayDeque<>();
        }
    }

    int size() {
        return worldRanks.length;
    }

    InProcessWorld world() {
        return world;
    }

    int worldRank(int rank) {
        return worldRanks[rank];
    }

    /**
     * Posts {@code post} for {@code call} and waits until every rank has posted; returns all posts in
     * rank order. Every rank throws when the ranks called different collectives.
     */
    Object[] exchange(int rank, String call, Object post) {
        world.lock.lock();
        try {
            checkUsable(rank, call);
            for (int r = 0; r < size(); r++) {
                if (closed[r]) {
                    throw new CommunicatorException("rank " + worldRanks[r] + " closed its communicator: rank "
                            + worldRanks[rank] + " cannot run " + call);
                }
            }
            if (arrived == 0) {
                posts = new Object[size()];
                calls = new String[size()];
            }
            long mine = generation;
            Object[] round = posts;
            String[] roundCalls = calls;
            round[rank] = post;
            roundCalls[rank] = call;
            if (++arrived == size()) {
                arrived = 0;
                generation++;
                world.changed.signalAll();
            } else {
                long deadline = System.nanoTime() + world.timeout.toNanos();
                while (generation == mine) {
                    world.checkHealthy();
                    checkNoneClosed(rank, call, roundCalls);
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        String message = timedOut(rank, call, roundCalls);
                        world.fail(message);
                        throw new CommunicatorException(message);
                    }
                    world.changed.await(left, TimeUnit.NANOSECONDS);
                }
            }
            checkSameCall(roundCalls);
            return round;                     // complete: the next round starts with fresh arrays
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            String message = "rank " + worldRanks[rank] + " was interrupted in " + call;
            world.fail(message);   // its post stays in the round: the group cannot go on
            throw new CommunicatorException(message, e);
        } finally {
            world.lock.unlock();
        }
    }

    /** Queues a copy of {@code bytes} from {@code source} to {@code destination}. */
    void send(int source, int destination, MemorySegment bytes) {
        world.lock.lock();
        try {
            checkUsable(source, "send");
            if (closed[destination]) {
                throw new CommunicatorException("rank " + worldRanks[destination] + " closed its communicator before rank "
                        + worldRanks[source] + " could send to it");
            }
            mail[source][destination].add(bytes.toArray(ValueLayout.JAVA_BYTE));
            world.changed.signalAll();
        } finally {
            world.lock.unlock();
        }
    }

    /** Waits for the next message from {@code source} to {@code destination} and returns it. */
    byte[] receive(int source, int destination) {
        world.lock.lock();
        try {
            checkUsable(destination, "receive");
            long deadline = System.nanoTime() + world.timeout.toNanos();
            ArrayDeque<byte[]> queue = mail[source][destination];
            while (queue.isEmpty()) {
                world.checkHealthy();
                if (closed[source]) {
                    throw new CommunicatorException("rank " + worldRanks[source] + " closed its communicator while rank "
                            + worldRanks[destination] + " waits to receive from it");
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    String message = "rank " + worldRanks[destination] + " timed out after " + world.timeout.toSeconds()
                            + " s waiting to receive from rank " + worldRanks[source];
                    world.fail(message);
                    throw new CommunicatorException(message);
                }
                world.changed.await(left, TimeUnit.NANOSECONDS);
            }
            return queue.poll();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            String message = "rank " + worldRanks[destination] + " was interrupted in receive";
            world.fail(message);
            throw new CommunicatorException(message, e);
        } finally {
            world.lock.unlock();
        }
    }

    /** Marks {@code rank} as gone: the others' pending and later calls that need it throw. */
    void close(int rank) {
        world.lock.lock();
        try {
            closed[rank] = true;
            world.changed.signalAll();
        } finally {
            world.lock.unlock();
        }
    }

    /** Fails the whole world on behalf of {@code rank}. */
    void abort(int rank, Throwable cause) {
        world.lock.lock();
        try {
            world.fail(worldRanks[rank], cause);
        } finally {
            world.lock.unlock();
        }
    }

    /** The world's first failure, or null. */
    InProcessWorld.Failure failure() {
        world.lock.lock();
        try {
            return world.failure();
        } finally {
            world.lock.unlock();
        }
    }

    private void checkUsable(int rank, String call) {
        world.checkHealthy();
        if (closed[rank]) {
            throw new IllegalStateException("rank " + worldRanks[rank] + " called " + call + " on a closed communicator");
        }
    }

    /** Throws when a rank that has not joined the pending round ({@code roundCalls}) has closed. */
    private void checkNoneClosed(int rank, String call, String[] roundCalls) {
        for (int r = 0; r < size(); r++) {
            if (closed[r] && roundCalls[r] == null) {
                throw new CommunicatorException("rank " + worldRanks[r] + " closed its communicator while rank "
                        + worldRanks[rank] + " waits in " + call);
            }
        }
    }

    private String timedOut(int rank, String call, String[] roundCalls) {
        List<String> missing = new ArrayList<>();
        for (int r = 0; r < size(); r++) {
            if (roundCalls[r] == null) missing.add(String.valueOf(worldRanks[r]));
        }
        return "rank " + worldRanks[rank] + " timed out after " + world.timeout.toSeconds() + " s in " + call
                + " waiting for rank " + String.join(", ", missing);
    }

    private void checkSameCall(String[] roundCalls) {
        for (int r = 1; r < roundCalls.length; r++) {
            if (!roundCalls[r].equals(roundCalls[0])) {
                throw new CommunicatorException("collectives out of step: rank " + worldRanks[0] + " called " + roundCalls[0]
                        + ", rank " + worldRanks[r] + " called " + roundCalls[r]);
            }
        }
    }
}
