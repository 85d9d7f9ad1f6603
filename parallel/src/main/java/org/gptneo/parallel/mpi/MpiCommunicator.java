package org.gptneo.parallel.mpi;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.Callable;
import org.gptneo.parallel.Communicator;
import org.gptneo.parallel.CommunicatorException;
import org.gptneo.parallel.ReduceOp;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * A {@link Communicator} over an MPI communicator, through the Foreign Function and Memory API: Open
 * MPI, MPICH (and its ABI family) or the MPI-5 standard ABI, found by {@link MpiProbe}. Takes dense
 * host tensors; reductions are on F32 ({@code MPI_FLOAT}), every other collective moves bytes
 * ({@code MPI_BYTE}). {@link ReduceOp#AVG} is an {@code MPI_SUM} divided by the group's size.
 * {@code MPI_Allreduce} runs in place ({@code MPI_IN_PLACE}). MPI counts are {@code int}s, so a
 * buffer of more than 2<sup>31</sup>−1 elements (bytes, for the moving collectives) goes in chunks:
 * all-reduce, broadcast, send and receive chunk their buffer; reduce-scatter falls back to one chunked
 * {@code MPI_Reduce} per block, all-gather to one chunked broadcast per rank, all-to-all to pairwise
 * exchanges.
 *
 * <p>Errors come back as codes ({@code MPI_ERRORS_RETURN} on the world, inherited by splits) and are
 * thrown as {@link CommunicatorException} with {@code MPI_Error_string}'s text. A rank that dies ends the
 * others (see {@link PeerWatch}).
 */
public final class MpiCommunicator implements Communicator {
    /** The most elements one MPI call moves ({@code int} counts). */
    static final int MAX_COUNT = Integer.MAX_VALUE;
    private static final int TAG = 0;

    private final MpiWorld world;
    private final Mpi mpi;
    private final long comm;
    private final int rank;
    private final int size;
    private final boolean owner;
    private final int chunk;
    private volatile boolean closed;

    private MpiCommunicator(MpiWorld world, long comm, int rank, int size, boolean owner, int chunk) {
        this.world = world;
        this.mpi = world.mpi;
        this.comm = comm;
        this.rank = rank;
        this.size = size;
        this.owner = owner;
        this.chunk = chunk;
    }

    /**
     * {@code MPI_COMM_WORLD}, initialising MPI on the first call of the process (MPI is finalised when
     * the process exits). Each call returns a new handle on the same group; closing it frees nothing.
     * Throws {@link CommunicatorException} naming the reason when MPI cannot be loaded or started.
     */
    public static MpiCommunicator world() {
        MpiWorld world = MpiWorld.get();
        return new MpiCommunicator(world, world.mpi.constants().commWorld(), world.rank, world.size, false, MAX_COUNT);
    }

    /**
     * Ends this process at once with status 1 and without MPI_Finalize, after one line on standard error
     * naming this rank and {@code reason}: for a rank that has failed (say, a command's error path before
     * {@code System.exit}). A normal exit would wait in MPI_Finalize, which every rank must reach, while the
     * other ranks wait for this one in a collective; this way the launcher ends the job, or the others
     * report this rank lost. An uncaught exception of the thread that started MPI does the same. Does
     * nothing where MPI was never started.
     */
    public static void abandon(String reason) {
        MpiWorld world = MpiWorld.started();
        if (world != null) {
            world.abandon(reason);
        }
    }

    /** Whether an MPI library is loadable here ({@link MpiProbe#probe()} says which, or why not). */
    public static boolean available() {
        return MpiProbe.probe().available();
    }

    /** This group, moving at most {@code elements} per MPI call (to exercise the chunked paths in tests). */
    MpiCommunicator withChunk(int elements) {
        if (elements < 1) {
            throw new IllegalArgumentException("a chunk of " + elements + " elements");
        }
        return new MpiCommunicator(world, comm, rank, size, false, elements);
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public String name() {
        return world.name;
    }

    /** Dense host tensors. */
    @Override
    public boolean accepts(Tensor t) {
        return t.isHostAccessible() && t.isContiguous();
    }

    @Override
    public void allReduce(Tensor buffer, ReduceOp op) {
        MemorySegment data = floats(buffer, "allReduce");
        writable(buffer, "allReduce");
        long count = buffer.size();
        run("allReduce", () -> chunks(count, (offset, n) -> mpi.check(mpi.allreduce(mpi.inPlace(),
                data.asSlice(offset * 4, n * 4L), n, mpi.constants().typeFloat(), op(op), comm), "MPI_Allreduce")));
        average(data, op);
    }

    @Override
    public void reduceScatter(Tensor input, Tensor output, ReduceOp op) {
        MemorySegment in = floats(input, "reduceScatter");
        MemorySegment out = floats(output, "reduceScatter");
        writable(output, "reduceScatter");
        long n = output.size();
        if (input.size() != n * size) {
            throw new IllegalArgumentException("reduceScatter takes an input of size·n = " + size + "·" + n
                    + " elements, got " + input.size());
        }
        long type = mpi.constants().typeFloat();
        if (n <= chunk) {
            run("reduceScatter", () -> mpi.check(mpi.reduceScatterBlock(in, out, (int) n, type, op(op), comm),
                    "MPI_Reduce_scatter_block"));
        } else {
            run("reduceScatter", () -> {
                for (int root = 0; root < size; root++) {
                    MemorySegment block = in.asSlice(root * n * 4, n * 4);
                    boolean mine = root == rank;
                    int r = root;
                    chunks(n, (offset, count) -> mpi.check(mpi.reduce(block.asSlice(offset * 4, count * 4L),
                            mine ? out.asSlice(offset * 4, count * 4L) : MemorySegment.NULL, count, type, op(op), r, comm),
                            "MPI_Reduce"));
                }
            });
        }
        average(out, op);
    }

    @Override
    public void allGather(Tensor input, Tensor output) {
        MemorySegment in = bytes(input, "allGather");
        MemorySegment out = bytes(output, "allGather");
        writable(output, "allGather");
        sameDType(input, output, "allGather");
        long n = in.byteSize();
        if (out.byteSize() != n * size) {
            throw new IllegalArgumentException("allGather takes an output of size·n = " + size + "·" + input.size()
                    + " elements, got " + output.size());
        }
        long type = mpi.constants().typeByte();
        if (n <= chunk) {
            run("allGather", () -> mpi.check(mpi.allgather(in, (int) n, type, out, (int) n, type, comm), "MPI_Allgather"));
            return;
        }
        out.asSlice(rank * n, n).copyFrom(in);
        run("allGather", () -> {
            for (int root = 0; root < size; root++) {
                broadcastBytes(out.asSlice(root * n, n), root);
            }
        });
    }

    @Override
    public void broadcast(Tensor buffer, int root) {
        MemorySegment data = bytes(buffer, "broadcast");
        writable(buffer, "broadcast");
        checkRank(root, "broadcast root");
        run("broadcast", () -> broadcastBytes(data, root));
    }

    @Override
    public void allToAll(Tensor input, Tensor output) {
        MemorySegment in = bytes(input, "allToAll");
        MemorySegment out = bytes(output, "allToAll");
        writable(output, "allToAll");
        sameDType(input, output, "allToAll");
        if (input.size() != output.size() || input.size() % size != 0) {
            throw new IllegalArgumentException("allToAll takes an input and an output of size·n elements each (size "
                    + size + "), got " + input.size() + " and " + output.size());
        }
        long n = in.byteSize() / size;
        long type = mpi.constants().typeByte();
        if (n <= chunk) {
            run("allToAll", () -> mpi.check(mpi.alltoall(in, (int) n, type, out, (int) n, type, comm), "MPI_Alltoall"));
            return;
        }
        out.asSlice(rank * n, n).copyFrom(in.asSlice(rank * n, n));
        run("allToAll", () -> {
            for (int shift = 1; shift < size; shift++) {
                int to = (rank + shift) % size;
                int from = (rank - shift + size) % size;
                exchange(in.asSlice(to * n, n), to, out.asSlice(from * n, n), from);
            }
        });
    }

    @Override
    public void send(Tensor t, int peer) {
        MemorySegment data = bytes(t, "send");
        checkPeer(peer, "send");
        long type = mpi.constants().typeByte();
        run("send to rank " + peer, () -> chunks(data.byteSize(), (offset, n) ->
                mpi.check(mpi.send(data.asSlice(offset, n), n, type, peer, TAG, comm), "MPI_Send")));
    }

    @Override
    public void receive(Tensor t, int peer) {
        MemorySegment data = bytes(t, "receive");
        writable(t, "receive");
        checkPeer(peer, "receive");
        long type = mpi.constants().typeByte();
        run("receive from rank " + peer, () -> chunks(data.byteSize(), (offset, n) -> mpi.check(mpi.recv(
                data.asSlice(offset, n), n, type, peer, TAG, comm, mpi.statusIgnore()), "MPI_Recv")));
    }

    @Override
    public void sendReceive(Tensor out, int destination, Tensor in, int source) {
        MemorySegment sent = bytes(out, "sendReceive");
        MemorySegment received = bytes(in, "sendReceive");
        writable(in, "sendReceive");
        checkRank(destination, "sendReceive destination");
        checkRank(source, "sendReceive source");
        run("sendReceive with ranks " + destination + " and " + source, () -> exchange(sent, destination, received, source));
    }

    @Override
    public void barrier() {
        run("barrier", () -> mpi.check(mpi.barrier(comm), "MPI_Barrier"));
    }

    /** {@code MPI_Comm_split}; {@link #NO_COLOR} is {@code MPI_UNDEFINED}, and such a rank gets null. */
    @Override
    public MpiCommunicator split(int color, int key) {
        if (color < 0 && color != NO_COLOR) {
            throw new IllegalArgumentException("split takes a colour ≥ 0 or NO_COLOR, got " + color);
        }
        int mpiColor = color == NO_COLOR ? mpi.constants().undefined() : color;
        long[] created = run("split", () -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment slot = mpi.handleSlot(arena);
                mpi.check(mpi.commSplit(comm, mpiColor, key, slot), "MPI_Comm_split");
                long handle = mpi.readHandle(slot);
                if (handle == mpi.constants().commNull()) {
                    return null;
                }
                MemorySegment value = arena.allocate(JAVA_INT);
                mpi.check(mpi.commRank(handle, value), "MPI_Comm_rank");
                int newRank = value.get(JAVA_INT, 0);
                mpi.check(mpi.commSize(handle, value), "MPI_Comm_size");
                return new long[] {handle, newRank, value.get(JAVA_INT, 0)};
            }
        });
        if (created == null) {
            if (color != NO_COLOR) {
                throw new CommunicatorException("MPI_Comm_split gave no group for colour " + color);
            }
            return null;
        }
        return new MpiCommunicator(world, created[0], (int) created[1], (int) created[2], true, chunk);
    }

    /** Frees a group made by {@link #split} ({@code MPI_Comm_free}); the world's handles free nothing. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (owner) {
            world.run("close", () -> {
                try (Arena arena = Arena.ofConfined()) {
                    mpi.check(mpi.commFree(mpi.handleSlot(arena, comm)), "MPI_Comm_free");
                    return null;
                }
            });
        }
    }

    @Override
    public String toString() {
        return name() + " rank " + rank + " of " + size;
    }

    // ---- helpers

    private interface Chunk {
        void run(long offset, int count);
    }

    /** Calls {@code step} for consecutive pieces of at most {@link #chunk} of {@code count} elements. */
    private void chunks(long count, Chunk step) {
        for (long offset = 0; offset < count; offset += chunk) {
            step.run(offset, (int) Math.min(chunk, count - offset));
        }
    }

    private void broadcastBytes(MemorySegment data, int root) {
        long type = mpi.constants().typeByte();
        chunks(data.byteSize(), (offset, n) -> mpi.check(mpi.bcast(data.asSlice(offset, n), n, type, root, comm), "MPI_Bcast"));
    }

    /**
     * Sends {@code out} to {@code to} and receives {@code in} from {@code from} with MPI_Sendrecv, in
     * rounds of one chunk per direction; a direction without a chunk left talks to MPI_PROC_NULL, so each
     * direction sends exactly the chunks its receiver expects.
     */
    private void exchange(MemorySegment out, int to, MemorySegment in, int from) {
        long type = mpi.constants().typeByte();
        int procNull = mpi.constants().procNull();
        long rounds = Math.max(rounds(out.byteSize()), rounds(in.byteSize()));
        for (long round = 0; round < rounds; round++) {
            long offset = round * chunk;
            int sendCount = (int) Math.clamp(out.byteSize() - offset, 0, chunk);
            int recvCount = (int) Math.clamp(in.byteSize() - offset, 0, chunk);
            mpi.check(mpi.sendrecv(sendCount > 0 ? out.asSlice(offset, sendCount) : out, sendCount, type,
                    sendCount > 0 ? to : procNull, TAG, recvCount > 0 ? in.asSlice(offset, recvCount) : in, recvCount, type,
                    recvCount > 0 ? from : procNull, TAG, comm, mpi.statusIgnore()), "MPI_Sendrecv");
        }
    }

    private long rounds(long bytes) {
        return (bytes + chunk - 1) / chunk;
    }

    private void run(String what, Runnable work) {
        run(what, () -> {
            work.run();
            return null;
        });
    }

    private <T> T run(String what, Callable<T> work) {
        if (closed) {
            throw new IllegalStateException(what + " on a closed communicator (" + this + ")");
        }
        return world.run(what, work);
    }

    private long op(ReduceOp op) {
        return switch (op) {
            case SUM, AVG -> mpi.constants().opSum();
            case MAX -> mpi.constants().opMax();
            case MIN -> mpi.constants().opMin();
        };
    }

    /** AVG: the sum divided by the group's size. */
    private void average(MemorySegment sums, ReduceOp op) {
        if (op == ReduceOp.AVG) {
            long count = sums.byteSize() / 4;
            for (long i = 0; i < count; i++) {
                sums.setAtIndex(JAVA_FLOAT_UNALIGNED, i, sums.getAtIndex(JAVA_FLOAT_UNALIGNED, i) / size);
            }
        }
    }

    private MemorySegment bytes(Tensor t, String what) {
        if (!accepts(t)) {
            throw new IllegalArgumentException(what + ": the MPI communicator takes dense host tensors, got " + t);
        }
        return t.data();
    }

    private MemorySegment floats(Tensor t, String what) {
        if (t.dtype() != DType.F32) {
            throw new IllegalArgumentException(what + " reduces F32 tensors, got " + t);
        }
        return bytes(t, what);
    }

    private static void writable(Tensor t, String what) {
        if (t.isReadOnly()) {
            throw new IllegalArgumentException(what + " writes into " + t + ", which is read-only");
        }
    }

    private static void sameDType(Tensor a, Tensor b, String what) {
        if (a.dtype() != b.dtype()) {
            throw new IllegalArgumentException(what + " moves " + a.dtype() + " into " + b.dtype());
        }
    }

    private void checkRank(int r, String what) {
        if (r < 0 || r >= size) {
            throw new IllegalArgumentException(what + " " + r + " is not a rank of this group of " + size);
        }
    }

    private void checkPeer(int peer, String what) {
        checkRank(peer, what + " peer");
        if (peer == rank) {
            throw new IllegalArgumentException(what + " with itself (rank " + rank + ")");
        }
    }
}
