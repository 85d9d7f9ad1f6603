package org.gptneo.parallel;

import java.lang.foreign.Arena;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * A communicator's collectives on a backend's tensors: a tensor the communicator cannot take (a GPU
 * tensor for a host-memory communicator, a host tensor for NCCL) is staged through a copy on the
 * other side and copied back. A host backend with a host communicator copies nothing.
 */
final class Collectives {
    private final Communicator group;
    private final Backend backend;

    Collectives(Communicator group, Backend backend) {
        this.group = group;
        this.backend = backend;
    }

    Communicator group() {
        return group;
    }

    void allReduce(Tensor buffer, ReduceOp op) {
        try (Arena arena = Arena.ofShared()) {
            Tensor b = accepted(buffer, arena);
            group.allReduce(b, op);
            copyBack(b, buffer, arena);
        }
    }

    void reduceScatter(Tensor input, Tensor output, ReduceOp op) {
        try (Arena arena = Arena.ofShared()) {
            Tensor out = accepted(output, arena);
            group.reduceScatter(accepted(input, arena), out, op);
            copyBack(out, output, arena);
        }
    }

    void allGather(Tensor input, Tensor output) {
        try (Arena arena = Arena.ofShared()) {
            Tensor out = accepted(output, arena);
            group.allGather(accepted(input, arena), out);
            copyBack(out, output, arena);
        }
    }

    void broadcast(Tensor buffer, int root) {
        try (Arena arena = Arena.ofShared()) {
            Tensor b = accepted(buffer, arena);
            group.broadcast(b, root);
            copyBack(b, buffer, arena);
        }
    }

    void allToAll(Tensor input, Tensor output) {
        try (Arena arena = Arena.ofShared()) {
            Tensor out = accepted(output, arena);
            group.allToAll(accepted(input, arena), out);
            copyBack(out, output, arena);
        }
    }

    /** op over every rank's {@code values}, element by element (small host vectors: losses, flags). */
    float[] allReduce(float[] values, ReduceOp op) {
        try (Arena arena = Arena.ofShared()) {
            Tensor t = Tensor.of(arena, values, values.length);
            allReduce(t, op);
            return t.toFloatArray();
        }
    }

    /** {@code t}, or a copy of it on the other side of the host/device line that the communicator takes. */
    private Tensor accepted(Tensor t, Arena arena) {
        if (group.accepts(t)) return t;
        Tensor other = t.isHostAccessible() ? backend.upload(t, arena) : backend.download(t, arena);
        if (other == t || !group.accepts(other)) {
            throw new IllegalArgumentException("the " + group.name() + " communicator takes neither " + t
                    + " nor its copy on the " + backend.name() + " backend");
        }
        return other;
    }

    /** Copies a staged result back into the caller's tensor. */
    private void copyBack(Tensor staged, Tensor original, Arena arena) {
        if (staged == original) return;
        if (original.isHostAccessible()) {
            original.copyFrom(backend.download(staged, arena));
        } else {
            backend.copy(backend.upload(staged, arena), original);
        }
    }

    /** A zero-filled F32 vector on the backend. */
    Tensor allocate(Arena arena, long elements) {
        return backend.allocate(arena, DType.F32, Math.toIntExact(elements));
    }
}
