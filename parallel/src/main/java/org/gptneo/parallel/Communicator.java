package org.gptneo.parallel;

import org.gptneo.tensor.Tensor;

/**
 * A group of ranks that exchange tensors: the collectives of NCCL and MPI, on this library's tensors.
 * Every rank of the group calls the same collectives in the same order with tensors of the same
 * dtype and element count (counts per rank where stated). Buffers are dense; F32 reduces, any dtype
 * moves. Which tensors an implementation takes is its own: host tensors for MPI and the in-process
 * group, device tensors of one GPU for NCCL ({@link #accepts}).
 *
 * <p>Calls block until this rank's part is done and its output can be read (an implementation on a
 * device stream may return once the work is queued, as the device backend orders it). A rank that
 * fails or disappears makes the others' calls throw {@link CommunicatorException} naming it, within
 * the implementation's timeout, never hang; where the library cannot go on after a lost rank (MPI,
 * NCCL), the other ranks' processes end instead, with status 1 and one line naming it.
 */
public interface Communicator extends AutoCloseable {
    /** {@link #split}'s colour for a rank that joins no new group. */
    int NO_COLOR = -1;

    /** This rank, in [0, size). */
    int rank();

    /** How many ranks the group has. */
    int size();

    /** What carries the data ("in-process", "mpi (Open MPI 4.1.4)", "nccl 2.30.7"). */
    String name();

    /** Whether this communicator can exchange {@code t} (its device, dtype and layout). */
    boolean accepts(Tensor t);

    /** buffer ← op over every rank's buffer, in place on every rank. */
    void allReduce(Tensor buffer, ReduceOp op);

    /**
     * output [n] on rank r ← op over every rank's block r of input [size·n] (the n elements from r·n):
     * the first half of an all-reduce, each rank keeping one reduced shard.
     */
    void reduceScatter(Tensor input, Tensor output, ReduceOp op);

    /** output [size·n] ← every rank's input [n], rank r's at offset r·n, on every rank. */
    void allGather(Tensor input, Tensor output);

    /** buffer ← root's buffer on every rank. */
    void broadcast(Tensor buffer, int root);

    /**
     * output [size·n] on rank r ← block r of every rank's input [size·n], rank s's block at offset
     * s·n: each rank sends its block j to rank j (expert-parallel token dispatch).
     */
    void allToAll(Tensor input, Tensor output);

    /** Sends {@code t} to {@code peer}, which receives it with {@link #receive} (or {@link #sendReceive}). */
    void send(Tensor t, int peer);

    /** Fills {@code t} with what {@code peer} sends. */
    void receive(Tensor t, int peer);

    /**
     * Sends {@code out} to {@code destination} and receives {@code in} from {@code source} at once, so
     * that neighbours exchanging in both directions cannot deadlock (a pipeline stage's step).
     */
    void sendReceive(Tensor out, int destination, Tensor in, int source);

    /** Returns once every rank of the group has called it. */
    void barrier();

    /**
     * Splits this group as MPI_Comm_split and ncclCommSplit do: ranks that pass the same colour form
     * a new group, ordered by key (then by rank here); a rank passing {@link #NO_COLOR} gets null. Every
     * rank of this group must call it. The caller closes the new group.
     */
    Communicator split(int color, int key);

    /** Leaves the group and frees what it holds; the group's other ranks must close theirs too. */
    @Override
    void close();
}
