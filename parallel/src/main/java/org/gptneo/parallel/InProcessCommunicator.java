package org.gptneo.parallel;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.IntStream;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * A group of ranks that are threads of this JVM, exchanging dense host tensors through shared
 * memory: {@link #group} makes one communicator per rank, each to be used from its own thread.
 *
 * <p>Reductions combine the ranks' values in rank order, so every rank gets the same bits, run after
 * run; an all-reduce has each rank reduce one block and then copy every block, so the work is shared.
 * Sends are buffered (a copy is queued), so {@link #send} returns at once and {@link #sendReceive}
 * cannot deadlock.
 *
 * <p>Failures: a rank whose thread fails calls {@link #abort}; from then on every pending and later
 * call of every rank, in this group and in the groups split from it, throws a
 * {@link CommunicatorException} naming that rank ("rank 1 failed: IllegalStateException: ..."). A rank
 * that closes its communicator while others wait for it, or a wait longer than the timeout (60 s
 * unless {@link #group(int, Duration)} sets another), fails the calls the same way. Ranks are named by
 * their rank in the group {@link #group} made, in subgroups too.
 *
 * <p>Other ranks' threads read and write the tensors a rank passes, so their memory must be
 * accessible from any thread: from {@link Tensor#allocate(DType, int...)} or a shared arena, not a
 * confined one.
 */
public final class InProcessCommunicator implements Communicator {
    /** How long a call waits for the other ranks unless the group was made with another timeout. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    private final InProcessGroup group;
    private final int rank;

    private InProcessCommunicator(InProcessGroup group, int rank) {
        this.group = group;
        this.rank = rank;
    }

    /** {@code n} communicators of one new group, element r being rank r's, with the default timeout. */
    public static List<InProcessCommunicator> group(int n) {
        return group(n, DEFAULT_TIMEOUT);
    }

    /** {@code n} communicators of one new group, element r being rank r's; calls wait at most {@code timeout}. */
    public static List<InProcessCommunicator> group(int n, Duration timeout) {
        if (n < 1) {
            throw new IllegalArgumentException("a communicator group needs at least one rank, got " + n);
        }
        InProcessGroup shared = new InProcessGroup(new InProcessWorld(timeout), IntStream.range(0, n).toArray());
        return IntStream.range(0, n).mapToObj(r -> new InProcessCommunicator(shared, r)).toList();
    }

    /**
     * Reports that this rank's thread failed with {@code cause}: every rank's pending and later calls
     * (this rank's included) throw a {@link CommunicatorException} naming this rank. The first failure
     * of a group is the one reported.
     */
    public void abort(Throwable cause) {
        group.abort(rank, cause);
    }

    /** The group's first failure on one line ("rank 1 failed: ..."), if any. */
    public Optional<String> failure() {
        InProcessWorld.Failure f = group.failure();
        return f == null ? Optional.empty() : Optional.of(f.message());
    }

    /** The world rank whose {@link #abort} was the group's first failure, if that is what failed it. */
    public OptionalInt failedRank() {
        InProcessWorld.Failure f = group.failure();
        return f == null || f.rank() < 0 ? OptionalInt.empty() : OptionalInt.of(f.rank());
    }

    /** How long a call waits for the other ranks. */
    public Duration timeout() {
        return group.world().timeout;
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return group.size();
    }

    @Override
    public String name() {
        return "in-process";
    }

    /** Dense host tensors of any dtype (F32 for reductions). */
    @Override
    public boolean accepts(Tensor t) {
        return t.isHostAccessible() && t.isContiguous();
    }

    @Override
    public void allReduce(Tensor buffer, ReduceOp op) {
        requireReducible(buffer, "allReduce");
        Tensor[] all = tensors(group.exchange(rank, "allReduce", buffer));
        requireSame("allReduce", all);
        long n = buffer.size();
        long from = HostReduction.blockStart(n, size(), rank);
        int count = Math.toIntExact(HostReduction.blockStart(n, size(), rank + 1) - from);
        float[] block = HostReduction.reduce(segments(all), from, count, op);
        Object[] blocks = group.exchange(rank, "allReduce", block);  // every rank has read every input
        for (int s = 0; s < size(); s++) {
            float[] b = (float[]) blocks[s];
            MemorySegment.copy(b, 0, buffer.data(), HostReduction.FLOAT, HostReduction.blockStart(n, size(), s) * Float.BYTES, b.length);
        }
    }

    @Override
    public void reduceScatter(Tensor input, Tensor output, ReduceOp op) {
        requireReducible(input, "reduceScatter");
        requireReducible(output, "reduceScatter");
        Tensor[] all = tensors(group.exchange(rank, "reduceScatter", input));
        requireSame("reduceScatter", all);
        long n = output.size();
        if (input.size() != n * size()) {
            throw new IllegalArgumentException("reduceScatter over " + size() + " ranks needs an input of " + size()
                    + " × the output's elements: " + input + " and " + output);
        }
        float[] block = HostReduction.reduce(segments(all), rank * n, Math.toIntExact(n), op);
        group.exchange(rank, "reduceScatter", null);  // every rank has read every input (the output may alias it)
        MemorySegment.copy(block, 0, output.data(), HostReduction.FLOAT, 0, block.length);
    }

    @Override
    public void allGather(Tensor input, Tensor output) {
        requireMovable(input, "allGather");
        requireMovable(output, "allGather");
        Tensor[] all = tensors(group.exchange(rank, "allGather", input));
        requireSame("allGather", all);
        long bytes = input.data().byteSize();
        if (output.dtype() != input.dtype() || output.data().byteSize() != bytes * size()) {
            throw new IllegalArgumentException("allGather over " + size() + " ranks needs an output of " + size()
                    + " × the input's elements, same dtype: " + input + " and " + output);
        }
        for (int s = 0; s < size(); s++) {
            MemorySegment.copy(all[s].data(), 0, output.data(), s * bytes, bytes);  // overlapping copies are exact
        }
        group.exchange(rank, "allGather", null);  // inputs stay unchanged until every rank has copied them
    }

    @Override
    public void broadcast(Tensor buffer, int root) {
        requireMovable(buffer, "broadcast");
        Tensor[] all = tensors(group.exchange(rank, "broadcast", buffer));
        requireSame("broadcast", all);
        requirePeer(root, "broadcast root");
        if (rank != root) {
            MemorySegment.copy(all[root].data(), 0, buffer.data(), 0, buffer.data().byteSize());
        }
        group.exchange(rank, "broadcast", null);  // the root's buffer stays unchanged until every rank has copied it
    }

    @Override
    public void allToAll(Tensor input, Tensor output) {
        requireMovable(input, "allToAll");
        requireMovable(output, "allToAll");
        Tensor[] all = tensors(group.exchange(rank, "allToAll", input));
        requireSame("allToAll", all);
        long bytes = input.data().byteSize();
        if (output.dtype() != input.dtype() || output.data().byteSize() != bytes || bytes % size() != 0) {
            throw new IllegalArgumentException("allToAll over " + size() + " ranks needs input and output of the same dtype"
                    + " and size, a whole number of blocks per rank: " + input + " and " + output);
        }
        long block = bytes / size();
        MemorySegment received = MemorySegment.ofArray(new byte[Math.toIntExact(bytes)]);
        for (int s = 0; s < size(); s++) {
            MemorySegment.copy(all[s].data(), rank * block, received, s * block, block);
        }
        group.exchange(rank, "allToAll", null);  // every rank has read every input (the output may alias it)
        MemorySegment.copy(received, 0, output.data(), 0, bytes);
    }

    @Override
    public void send(Tensor t, int peer) {
        requireMovable(t, "send");
        requirePeer(peer, "send peer");
        group.send(rank, peer, t.data());
    }

    @Override
    public void receive(Tensor t, int peer) {
        requireMovable(t, "receive");
        requirePeer(peer, "receive peer");
        byte[] message = group.receive(peer, rank);
        if (message.length != t.data().byteSize()) {
            throw new CommunicatorException("rank " + group.worldRank(rank) + " expected " + t.data().byteSize()
                    + " bytes from rank " + group.worldRank(peer) + ", which sent " + message.length);
        }
        MemorySegment.copy(MemorySegment.ofArray(message), 0, t.data(), 0, message.length);
    }

    @Override
    public void sendReceive(Tensor out, int destination, Tensor in, int source) {
        send(out, destination);
        receive(in, source);
    }

    @Override
    public void barrier() {
        group.exchange(rank, "barrier", null);
    }

    @Override
    public Communicator split(int color, int key) {
        Object[] posts = group.exchange(rank, "split", new int[] {color, key});
        for (int s = 0; s < size(); s++) {
            int c = ((int[]) posts[s])[0];
            if (c < 0 && c != NO_COLOR) {
                throw new IllegalArgumentException("split colours are non-negative or NO_COLOR: rank " + group.worldRank(s) + " passed " + c);
            }
        }
        List<Integer> members = new ArrayList<>();
        for (int s = 0; s < size(); s++) {
            if (color != NO_COLOR && ((int[]) posts[s])[0] == color) members.add(s);
        }
        members.sort(Comparator.<Integer>comparingInt(s -> ((int[]) posts[s])[1]).thenComparingInt(s -> s));
        boolean leader = !members.isEmpty() && members.getFirst() == rank;
        InProcessGroup made = leader
                ? new InProcessGroup(group.world(), members.stream().mapToInt(group::worldRank).toArray())
                : null;
        Object[] groups = group.exchange(rank, "split", made);
        return color == NO_COLOR ? null : new InProcessCommunicator((InProcessGroup) groups[members.getFirst()], members.indexOf(rank));
    }

    /** Leaves the group; the other ranks' pending and later calls that need this rank throw. */
    @Override
    public void close() {
        group.close(rank);
    }

    @Override
    public String toString() {
        return "in-process rank " + rank + " of " + size();
    }

    private void requireMovable(Tensor t, String call) {
        if (!accepts(t)) {
            throw new IllegalArgumentException(call + " on the in-process communicator needs dense host tensors, got " + t);
        }
    }

    private void requireReducible(Tensor t, String call) {
        requireMovable(t, call);
        if (t.dtype() != DType.F32) {
            throw new IllegalArgumentException(call + " reduces F32 tensors, got " + t);
        }
    }

    private void requirePeer(int peer, String what) {
        if (peer < 0 || peer >= size()) {
            throw new IllegalArgumentException(what + " " + peer + " is outside the group's ranks [0, " + size() + ")");
        }
    }

    /** Every rank throws alike when the ranks' tensors differ in dtype or element count. */
    private void requireSame(String call, Tensor[] all) {
        for (int s = 1; s < all.length; s++) {
            if (all[s].dtype() != all[0].dtype() || all[s].size() != all[0].size()) {
                throw new CommunicatorException(call + " with different tensors: rank " + group.worldRank(0) + " passed "
                        + all[0] + ", rank " + group.worldRank(s) + " passed " + all[s]);
            }
        }
    }

    private static Tensor[] tensors(Object[] posts) {
        Tensor[] out = new Tensor[posts.length];
        for (int s = 0; s < posts.length; s++) out[s] = (Tensor) posts[s];
        return out;
    }

    private static MemorySegment[] segments(Tensor[] all) {
        MemorySegment[] out = new MemorySegment[all.length];
        for (int s = 0; s < all.length; s++) out[s] = all[s].data();
        return out;
    }
}
