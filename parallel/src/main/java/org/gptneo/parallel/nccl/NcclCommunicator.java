package org.gptneo.parallel.nccl;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.function.Function;
import org.gptneo.cuda.CudaBackend;
import org.gptneo.cuda.ffi.CudaException;
import org.gptneo.cuda.ffi.Cudart;
import org.gptneo.parallel.Communicator;
import org.gptneo.parallel.CommunicatorException;
import org.gptneo.parallel.LaunchEnvironment;
import org.gptneo.parallel.ReduceOp;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * A {@link Communicator} over an NCCL communicator of one GPU, the device of a {@link CudaBackend}:
 * every NCCL call runs on the backend's device thread and queues its work on the backend's stream
 * ({@link CudaBackend#onStream}), so it is ordered with the backend's kernels; a call returns once the
 * work is queued (reading a result through the backend waits for it). Takes dense tensors of that
 * device; reductions on F32 ({@code ncclFloat32}, {@link ReduceOp#AVG} is {@code ncclAvg}), every other
 * collective moves bytes ({@code ncclUint8}). All-to-all and send/receive pairs are grouped
 * ({@code ncclGroupStart}/{@code ncclGroupEnd}); {@link #barrier} is an all-reduce of one value followed
 * by a stream synchronisation.
 *
 * <p>Failures: a call that returns an error aborts the communicator ({@code ncclCommAbort}) and throws
 * {@link CommunicatorException} with {@code ncclGetErrorString} and {@code ncclGetLastError}; an
 * asynchronous error (a lost peer) ends the process ({@link AsyncErrorWatch}).
 *
 * <p>Bootstrap ({@code parallel.md} §2): {@link #world(CudaBackend, Communicator)} broadcasts rank 0's
 * {@code ncclUniqueId} over a host communicator (MPI); {@link #world(CudaBackend, LaunchEnvironment)}
 * needs {@code NCCL_COMM_ID=MASTER_ADDR:MASTER_PORT} in every process's environment (set by the launcher:
 * Java cannot set it), from which each rank makes the same id. The backend must be on the GPU of this
 * rank's local rank; NCCL takes one rank per GPU.
 */
public final class NcclCommunicator implements Communicator {
    private final CudaBackend backend;
    private final MemorySegment comm;
    private final int rank;
    private final int size;
    private final String name;
    private final AsyncErrorWatch watch;
    private final Arena scratchArena = Arena.ofShared();
    private final Tensor scratch;
    private volatile String failure;
    private volatile boolean closed;

    private NcclCommunicator(CudaBackend backend, MemorySegment comm, int rank, int size, String name) {
        this.backend = backend;
        this.comm = comm;
        this.rank = rank;
        this.size = size;
        this.name = name;
        this.scratch = backend.allocate(scratchArena, DType.F32, 1);
        this.watch = new AsyncErrorWatch(comm, "rank " + rank + " of " + size, System.err);
    }

    /**
     * The world of {@code bootstrap}'s group on {@code backend}'s GPU: rank 0 makes the unique id, the
     * host communicator {@code bootstrap} broadcasts it, every rank joins with its bootstrap rank.
     */
    public static NcclCommunicator world(CudaBackend backend, Communicator bootstrap) {
        try (Arena arena = Arena.ofShared()) {
            Tensor id = Tensor.allocate(arena, DType.I32, Nccl.UNIQUE_ID_BYTES / 4);
            if (bootstrap.rank() == 0) {
                uniqueId(id.data());
            }
            bootstrap.broadcast(id, 0);
            return join(backend, id.data(), bootstrap.rank(), bootstrap.size());
        }
    }

    /**
     * The world of {@code launch} on {@code backend}'s GPU. One rank needs nothing; several need
     * {@code NCCL_COMM_ID} in the environment, from which every rank makes the same unique id and rank 0's
     * {@code ncclCommInitRank} starts the bootstrap there.
     */
    public static NcclCommunicator world(CudaBackend backend, LaunchEnvironment launch) {
        requireCommId(launch, System.getenv());
        try (Arena arena = Arena.ofShared()) {
            MemorySegment id = arena.allocate(Nccl.UNIQUE_ID);
            uniqueId(id);
            return join(backend, id, launch.rank(), launch.worldSize());
        }
    }

    /** A job of several ranks bootstraps at {@code NCCL_COMM_ID}: an error naming the value to set when it is missing. */
    static void requireCommId(LaunchEnvironment launch, Map<String, String> environment) {
        String commId = environment.get("NCCL_COMM_ID");
        if (launch.distributed() && (commId == null || commId.isBlank())) {
            throw new CommunicatorException("NCCL_COMM_ID is not set: start every rank with NCCL_COMM_ID="
                    + launch.rendezvous().orElse("<MASTER_ADDR>:<MASTER_PORT>")
                    + " in its environment, or bootstrap NCCL over MPI");
        }
    }

    private static void uniqueId(MemorySegment id) {
        Nccl.check(Nccl.getUniqueId(id), "ncclGetUniqueId", MemorySegment.NULL);
    }

    private static NcclCommunicator join(CudaBackend backend, MemorySegment id, int rank, int size) {
        String version = NcclProbe.probe().version();
        MemorySegment comm = backend.onStream(stream -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment slot = arena.allocate(ADDRESS);
                Nccl.check(Nccl.commInitRank(slot, size, id, rank), "ncclCommInitRank(rank " + rank + " of " + size + ")",
                        MemorySegment.NULL);
                return slot.get(ADDRESS, 0);
            }
        });
        return new NcclCommunicator(backend, comm, rank, size, "nccl " + version);
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
        return name;
    }

    /** Dense tensors of this communicator's GPU (the backend's device). */
    @Override
    public boolean accepts(Tensor t) {
        return t.device().equals(backend.device()) && t.isContiguous();
    }

    @Override
    public void allReduce(Tensor buffer, ReduceOp op) {
        MemorySegment data = floats(buffer, "allReduce");
        call("ncclAllReduce", stream -> Nccl.allReduce(data, data, buffer.size(), Nccl.FLOAT32, op(op), comm, stream));
    }

    @Override
    public void reduceScatter(Tensor input, Tensor output, ReduceOp op) {
        MemorySegment in = floats(input, "reduceScatter");
        MemorySegment out = floats(output, "reduceScatter");
        if (input.size() != output.size() * size) {
            throw new IllegalArgumentException("reduceScatter takes an input of size·n = " + size + "·" + output.size()
                    + " elements, got " + input.size());
        }
        call("ncclReduceScatter", stream -> Nccl.reduceScatter(in, out, output.size(), Nccl.FLOAT32, op(op), comm, stream));
    }

    @Override
    public void allGather(Tensor input, Tensor output) {
        MemorySegment in = bytes(input, "allGather");
        MemorySegment out = bytes(output, "allGather");
        if (input.dtype() != output.dtype() || out.byteSize() != in.byteSize() * size) {
            throw new IllegalArgumentException("allGather takes an output of size·n = " + size + "·" + input.size()
                    + " elements of " + input.dtype() + ", got " + output);
        }
        call("ncclAllGather", stream -> Nccl.allGather(in, out, in.byteSize(), Nccl.UINT8, comm, stream));
    }

    @Override
    public void broadcast(Tensor buffer, int root) {
        MemorySegment data = bytes(buffer, "broadcast");
        checkRank(root, "broadcast root");
        call("ncclBroadcast", stream -> Nccl.broadcast(data, data, data.byteSize(), Nccl.UINT8, root, comm, stream));
    }

    /** Grouped sends and receives of every block; this rank's own block is a device-to-device copy. */
    @Override
    public void allToAll(Tensor input, Tensor output) {
        MemorySegment in = bytes(input, "allToAll");
        MemorySegment out = bytes(output, "allToAll");
        if (input.dtype() != output.dtype() || input.size() != output.size() || input.size() % size != 0) {
            throw new IllegalArgumentException("allToAll takes an input and an output of size·n elements of one dtype "
                    + "(size " + size + "), got " + input + " and " + output);
        }
        long n = in.byteSize() / size;
        call("ncclSend/ncclRecv (allToAll)", stream -> {
            if (n > 0) {
                int copied = Cudart.memcpyAsync(block(out, rank, n), block(in, rank, n), n, Cudart.MEMCPY_DEVICE_TO_DEVICE, stream);
                Cudart.check(copied, "cudaMemcpyAsync (allToAll's own block)");
            }
            Nccl.check(Nccl.groupStart(), "ncclGroupStart", comm);
            int rc = Nccl.SUCCESS;
            for (int peer = 0; peer < size && rc == Nccl.SUCCESS; peer++) {
                if (peer != rank) {
                    rc = Nccl.send(block(in, peer, n), n, Nccl.UINT8, peer, comm, stream);
                    if (rc == Nccl.SUCCESS) {
                        rc = Nccl.recv(block(out, peer, n), n, Nccl.UINT8, peer, comm, stream);
                    }
                }
            }
            int ended = Nccl.groupEnd();
            return rc != Nccl.SUCCESS ? rc : ended;
        });
    }

    @Override
    public void send(Tensor t, int peer) {
        MemorySegment data = bytes(t, "send");
        checkRank(peer, "send peer");
        call("ncclSend", stream -> Nccl.send(data, data.byteSize(), Nccl.UINT8, peer, comm, stream));
    }

    @Override
    public void receive(Tensor t, int peer) {
        MemorySegment data = bytes(t, "receive");
        checkRank(peer, "receive peer");
        call("ncclRecv", stream -> Nccl.recv(data, data.byteSize(), Nccl.UINT8, peer, comm, stream));
    }

    /** ncclSend and ncclRecv in one group, so that neighbours exchanging both ways progress together. */
    @Override
    public void sendReceive(Tensor out, int destination, Tensor in, int source) {
        MemorySegment sent = bytes(out, "sendReceive");
        MemorySegment received = bytes(in, "sendReceive");
        checkRank(destination, "sendReceive destination");
        checkRank(source, "sendReceive source");
        call("ncclSend/ncclRecv (sendReceive)", stream -> {
            Nccl.check(Nccl.groupStart(), "ncclGroupStart", comm);
            int rc = Nccl.send(sent, sent.byteSize(), Nccl.UINT8, destination, comm, stream);
            if (rc == Nccl.SUCCESS) {
                rc = Nccl.recv(received, received.byteSize(), Nccl.UINT8, source, comm, stream);
            }
            int ended = Nccl.groupEnd();
            return rc != Nccl.SUCCESS ? rc : ended;
        });
    }

    /** An all-reduce of one value, then a wait for the stream: every rank has reached it when it returns. */
    @Override
    public void barrier() {
        MemorySegment one = scratch.memory();
        call("ncclAllReduce (barrier)", stream -> {
            int rc = Nccl.allReduce(one, one, 1, Nccl.FLOAT32, Nccl.SUM, comm, stream);
            if (rc == Nccl.SUCCESS) {
                Cudart.check(Cudart.streamSynchronize(stream), "cudaStreamSynchronize (barrier)");
            }
            return rc;
        });
    }

    /** {@code ncclCommSplit} ({@link #NO_COLOR} is {@code NCCL_SPLIT_NOCOLOR}); the new group inherits this one's configuration. */
    @Override
    public NcclCommunicator split(int color, int key) {
        if (color < 0 && color != NO_COLOR) {
            throw new IllegalArgumentException("split takes a colour ≥ 0 or NO_COLOR, got " + color);
        }
        int[] created = new int[2];
        MemorySegment[] handle = new MemorySegment[1];
        call("ncclCommSplit", stream -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment slot = arena.allocate(ADDRESS);
                int rc = Nccl.commSplit(comm, color == NO_COLOR ? Nccl.SPLIT_NOCOLOR : color, key, slot);
                handle[0] = slot.get(ADDRESS, 0);
                if (rc != Nccl.SUCCESS || handle[0].equals(MemorySegment.NULL)) {
                    return rc;
                }
                MemorySegment value = arena.allocate(JAVA_INT);
                Nccl.check(Nccl.commUserRank(handle[0], value), "ncclCommUserRank", handle[0]);
                created[0] = value.get(JAVA_INT, 0);
                Nccl.check(Nccl.commCount(handle[0], value), "ncclCommCount", handle[0]);
                created[1] = value.get(JAVA_INT, 0);
                return rc;
            }
        });
        if (handle[0].equals(MemorySegment.NULL)) {
            if (color != NO_COLOR) {
                throw new CommunicatorException("ncclCommSplit gave no group for colour " + color);
            }
            return null;
        }
        return new NcclCommunicator(backend, handle[0], created[0], created[1], name);
    }

    /** Finalises and destroys the communicator (aborts it instead after a failure). */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        watch.stop();
        try {
            backend.onStream(stream -> {
                if (failure == null) {
                    try {
                        Nccl.check(Nccl.commFinalize(comm), "ncclCommFinalize", comm);
                    } catch (CommunicatorException e) {
                        Nccl.commAbort(comm);
                        throw e;
                    }
                    Nccl.check(Nccl.commDestroy(comm), "ncclCommDestroy", MemorySegment.NULL);
                }
                return null;
            });
        } finally {
            scratchArena.close();
        }
    }

    @Override
    public String toString() {
        return name + " rank " + rank + " of " + size + " on " + backend.device();
    }

    // ---- helpers

    /**
     * Runs one NCCL operation on the device thread; a failure (an error code, or a CUDA error on the
     * way) aborts the communicator and is thrown as {@link CommunicatorException}, and every later call
     * throws it again.
     */
    private void call(String what, Function<MemorySegment, Integer> work) {
        if (closed) {
            throw new IllegalStateException(what + " on a closed communicator (" + this + ")");
        }
        if (failure != null) {
            throw new CommunicatorException(what + ": the communicator was aborted after an earlier failure: " + failure);
        }
        backend.onStream(stream -> {
            try {
                Nccl.check(work.apply(stream), what, comm);
                return null;
            } catch (CommunicatorException | CudaException e) {
                failure = "rank " + rank + " of " + size + ": " + e.getMessage();
                watch.stop();
                Nccl.commAbort(comm);
                throw new CommunicatorException(failure + " (communicator aborted)", e);
            }
        });
    }

    private static MemorySegment block(MemorySegment buffer, int index, long bytes) {
        return MemorySegment.ofAddress(buffer.address() + index * bytes);
    }

    private static int op(ReduceOp op) {
        return switch (op) {
            case SUM -> Nccl.SUM;
            case MAX -> Nccl.MAX;
            case MIN -> Nccl.MIN;
            case AVG -> Nccl.AVG;
        };
    }

    private MemorySegment bytes(Tensor t, String what) {
        if (!accepts(t)) {
            throw new IllegalArgumentException(what + ": the NCCL communicator takes dense tensors of " + backend.device()
                    + ", got " + t);
        }
        return MemorySegment.ofAddress(t.memory().address());
    }

    private MemorySegment floats(Tensor t, String what) {
        if (t.dtype() != DType.F32) {
            throw new IllegalArgumentException(what + " reduces F32 tensors, got " + t);
        }
        return bytes(t, what);
    }

    private void checkRank(int r, String what) {
        if (r < 0 || r >= size) {
            throw new IllegalArgumentException(what + " " + r + " is not a rank of this group of " + size);
        }
    }
}
