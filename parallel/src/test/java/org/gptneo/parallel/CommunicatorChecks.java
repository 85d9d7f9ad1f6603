package org.gptneo.parallel;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import org.gptneo.autograd.Var;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * The checks every rank of a {@link Communicator} on host tensors runs, in the same order on every rank
 * (so that they can be run by MPI processes and by the threads of an in-process group alike): every
 * collective on data derived from the rank, with exact expected results. {@link #runAll} throws an
 * {@link AssertionError} naming the collective, the rank, the element, the expected and the actual value
 * at the first difference.
 */
public final class CommunicatorChecks {
    /** Elements per rank: odd, and more than a small test chunk, so chunked paths split unevenly. */
    public static final int N = 37;

    private CommunicatorChecks() {}

    /** A value of rank r at element i: small integers (sums are exact in F32), differing across ranks. */
    static float value(int r, long i) {
        return (float) ((r * 7 + i * 3) % 11 - 5);
    }

    /** Runs every check on {@code c}; every rank of its group must call it. */
    public static void runAll(Communicator c) {
        try (Arena arena = Arena.ofShared()) {
            allReduce(c, arena);
            reduceScatter(c, arena);
            allGather(c, arena);
            broadcast(c, arena);
            allToAll(c, arena);
            sendAndReceive(c, arena);
            sendReceive(c, arena);
            c.barrier();
            split(c, arena);
            splitWithoutColour(c, arena);
        }
    }

    private static float combine(ReduceOp op, int size, long i, long offsetOfRankValues) {
        float sum = 0;
        float max = Float.NEGATIVE_INFINITY;
        float min = Float.POSITIVE_INFINITY;
        for (int r = 0; r < size; r++) {
            float v = value(r, offsetOfRankValues + i);
            sum += v;
            max = Math.max(max, v);
            min = Math.min(min, v);
        }
        return switch (op) {
            case SUM -> sum;
            case MAX -> max;
            case MIN -> min;
            case AVG -> sum / size;
        };
    }

    static void allReduce(Communicator c, Arena arena) {
        for (ReduceOp op : ReduceOp.values()) {
            Tensor t = Tensor.allocate(arena, DType.F32, N);
            for (int i = 0; i < N; i++) {
                t.setFloat(i, value(c.rank(), i));
            }
            c.allReduce(t, op);
            for (int i = 0; i < N; i++) {
                expect("allReduce " + op, c, i, combine(op, c.size(), i, 0), t.getFloat(i), op == ReduceOp.AVG);
            }
        }
    }

    static void reduceScatter(Communicator c, Arena arena) {
        for (ReduceOp op : ReduceOp.values()) {
            Tensor in = Tensor.allocate(arena, DType.F32, c.size() * N);
            for (int i = 0; i < c.size() * N; i++) {
                in.setFloat(i, value(c.rank(), i));
            }
            Tensor out = Tensor.allocate(arena, DType.F32, N);
            c.reduceScatter(in, out, op);
            for (int i = 0; i < N; i++) {
                expect("reduceScatter " + op, c, i, combine(op, c.size(), i, (long) c.rank() * N), out.getFloat(i),
                        op == ReduceOp.AVG);
            }
        }
    }

    static void allGather(Communicator c, Arena arena) {
        Tensor in = Tensor.allocate(arena, DType.F32, N);
        for (int i = 0; i < N; i++) {
            in.setFloat(i, c.rank() * 100 + i);
        }
        Tensor out = Tensor.allocate(arena, DType.F32, c.size() * N);
        c.allGather(in, out);
        for (int q = 0; q < c.size(); q++) {
            for (int i = 0; i < N; i++) {
                expect("allGather F32", c, q * N + i, q * 100 + i, out.getFloat(q * N + i), false);
            }
        }
        Tensor ids = Tensor.allocate(arena, DType.I32, N);
        for (int i = 0; i < N; i++) {
            ids.setInt(i, -(c.rank() * 1_000_003 + i));
        }
        Tensor gathered = Tensor.allocate(arena, DType.I32, c.size() * N);
        c.allGather(ids, gathered);
        for (int q = 0; q < c.size(); q++) {
            for (int i = 0; i < N; i++) {
                expectInt("allGather I32", c, q * N + i, -(q * 1_000_003 + i), gathered.getInt(q * N + i));
            }
        }
    }

    static void broadcast(Communicator c, Arena arena) {
        for (int root = 0; root < c.size(); root++) {
            Tensor t = Tensor.allocate(arena, DType.F32, N);
            for (int i = 0; i < N; i++) {
                t.setFloat(i, c.rank() == root ? root * 1000 + i : -1);
            }
            c.broadcast(t, root);
            for (int i = 0; i < N; i++) {
                expect("broadcast from rank " + root, c, i, root * 1000 + i, t.getFloat(i), false);
            }
        }
    }

    static void allToAll(Communicator c, Arena arena) {
        int s = c.size();
        Tensor in = Tensor.allocate(arena, DType.F32, s * N);
        for (int j = 0; j < s; j++) {
            for (int i = 0; i < N; i++) {
                in.setFloat(j * N + i, c.rank() * 10_000 + j * 100 + i);
            }
        }
        Tensor out = Tensor.allocate(arena, DType.F32, s * N);
        c.allToAll(in, out);
        for (int q = 0; q < s; q++) {
            for (int i = 0; i < N; i++) {
                expect("allToAll", c, q * N + i, q * 10_000 + c.rank() * 100 + i, out.getFloat(q * N + i), false);
            }
        }
    }

    /** A ring of send and receive: even ranks send first, odd ranks receive first. */
    static void sendAndReceive(Communicator c, Arena arena) {
        int s = c.size();
        if (s == 1) {
            return;
        }
        int next = (c.rank() + 1) % s;
        int previous = (c.rank() - 1 + s) % s;
        Tensor out = Tensor.allocate(arena, DType.F32, N);
        for (int i = 0; i < N; i++) {
            out.setFloat(i, c.rank() * 1000 + i);
        }
        Tensor in = Tensor.allocate(arena, DType.F32, N);
        if (c.rank() % 2 == 0) {
            c.send(out, next);
            c.receive(in, previous);
        } else {
            c.receive(in, previous);
            c.send(out, next);
        }
        for (int i = 0; i < N; i++) {
            expect("send/receive from rank " + previous, c, i, previous * 1000 + i, in.getFloat(i), false);
        }
    }

    /** Both directions of a ring at once, with sizes that differ per direction (rank r sends N + r elements). */
    static void sendReceive(Communicator c, Arena arena) {
        int s = c.size();
        int next = (c.rank() + 1) % s;
        int previous = (c.rank() - 1 + s) % s;
        Tensor out = Tensor.allocate(arena, DType.F32, N + c.rank());
        for (int i = 0; i < N + c.rank(); i++) {
            out.setFloat(i, c.rank() * 1000 + i);
        }
        Tensor in = Tensor.allocate(arena, DType.F32, N + previous);
        c.sendReceive(out, next, in, previous);
        for (int i = 0; i < N + previous; i++) {
            expect("sendReceive from rank " + previous, c, i, previous * 1000 + i, in.getFloat(i), false);
        }
    }

    /** Groups of equal parity, ordered by descending rank (key −rank); a sum over each group. */
    static void split(Communicator c, Arena arena) {
        int colour = c.rank() % 2;
        List<Integer> members = new ArrayList<>();
        for (int r = c.size() - 1; r >= 0; r--) {
            if (r % 2 == colour) {
                members.add(r);
            }
        }
        try (Communicator group = c.split(colour, -c.rank())) {
            check(group != null, "split: rank " + c.rank() + " got no group for colour " + colour);
            check(group.size() == members.size(), "split: rank " + c.rank() + " is in a group of " + group.size()
                    + ", expected " + members.size());
            check(group.rank() == members.indexOf(c.rank()), "split: rank " + c.rank() + " has rank " + group.rank()
                    + " in its group, expected " + members.indexOf(c.rank()) + " (keys order by descending rank)");
            Tensor t = Tensor.allocate(arena, DType.F32, 1);
            t.setFloat(0, c.rank());
            group.allReduce(t, ReduceOp.SUM);
            expect("split group allReduce", c, 0, members.stream().mapToInt(Integer::intValue).sum(), t.getFloat(0), false);
            runGroupBroadcast(group, arena);
        }
    }

    /** Rank 0 passes NO_COLOR and gets null; the others form one group in rank order. */
    static void splitWithoutColour(Communicator c, Arena arena) {
        Communicator group = c.split(c.rank() == 0 ? Communicator.NO_COLOR : 5, c.rank());
        if (c.rank() == 0) {
            check(group == null, "split: rank 0 passed NO_COLOR but got a group");
            return;
        }
        try (group) {
            check(group != null, "split: rank " + c.rank() + " got no group for colour 5");
            check(group.size() == c.size() - 1 && group.rank() == c.rank() - 1, "split: rank " + c.rank()
                    + " is rank " + group.rank() + " of " + group.size() + ", expected " + (c.rank() - 1) + " of " + (c.size() - 1));
            Tensor t = Tensor.allocate(arena, DType.F32, 1);
            t.setFloat(0, 1);
            group.allReduce(t, ReduceOp.SUM);
            expect("NO_COLOR split allReduce", c, 0, c.size() - 1, t.getFloat(0), false);
        }
    }

    private static void runGroupBroadcast(Communicator group, Arena arena) {
        Tensor t = Tensor.allocate(arena, DType.F32, N);
        int root = group.size() - 1;
        for (int i = 0; i < N; i++) {
            t.setFloat(i, group.rank() == root ? 7 * i : 0);
        }
        group.broadcast(t, root);
        for (int i = 0; i < N; i++) {
            expect("split group broadcast", group, i, 7 * i, t.getFloat(i), false);
        }
    }

    /**
     * Gradients averaged by {@link DataParallel#averageDuringBackward}, bucket by bucket on its
     * communication thread while a backward pass runs (with MPI: calls from a thread that is neither
     * the one that initialised MPI nor, when funnelled, the MPI thread): the ranks' mean.
     */
    public static void averagingDuringBackward(Communicator c) {
        try (CpuBackend backend = new CpuBackend(1); Replica replica = new Replica(1);
             DataParallel dp = new DataParallel(c, backend, replica.parameters, 9 * Float.BYTES)) {
            OverlappedReduction reduction = dp.averageDuringBackward(1f);
            replica.backwardInChain(backend, c.rank(), 0, null, reduction);
            reduction.finish();
            int p = 0;
            for (Var parameter : replica.parameters.values()) {
                for (long j = 0; j < parameter.grad().size(); j++) {
                    float sum = 0;
                    for (int r = 0; r < c.size(); r++) sum += Replica.gradient(r, 0, p, j);
                    expect("averagingDuringBackward", c, j, sum / c.size(), parameter.grad().getFloat(j), true);
                }
                p++;
            }
        }
    }

    private static void check(boolean condition, String message) {
        if (!condition) {
            throw new AssertionError(message);
        }
    }

    private static void expect(String what, Communicator c, long index, float expected, float actual, boolean rounded) {
        boolean same = rounded ? Math.abs(expected - actual) <= 1e-6f * Math.max(1, Math.abs(expected))
                : Float.floatToIntBits(expected) == Float.floatToIntBits(actual);
        if (!same) {
            throw new AssertionError(what + ": rank " + c.rank() + " of " + c.size() + ", element " + index
                    + ": expected " + expected + ", got " + actual);
        }
    }

    private static void expectInt(String what, Communicator c, long index, int expected, int actual) {
        if (expected != actual) {
            throw new AssertionError(what + ": rank " + c.rank() + " of " + c.size() + ", element " + index
                    + ": expected " + expected + ", got " + actual);
        }
    }
}
