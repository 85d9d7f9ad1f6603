package org.gptneo.backend.conformance;

import java.lang.foreign.Arena;
import java.util.IdentityHashMap;
import java.util.Map;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * One backend of a comparison and its copies of a case's host tensors. The reference side computes
 * on the host tensors themselves; a candidate side gets them through {@link Backend#upload} and gives
 * results back through {@link Backend#download}, and never has a host accessor called on its tensors.
 */
final class Side {
    private final Backend backend;
    private final Arena arena;
    private final boolean hostSide;
    private final Map<Tensor, Tensor> uploads = new IdentityHashMap<>();

    private Side(Backend backend, Arena arena, boolean hostSide) {
        this.backend = backend;
        this.arena = arena;
        this.hostSide = hostSide;
    }

    /** The oracle: its tensors are the host tensors. */
    static Side reference(Backend reference, Arena arena) {
        return new Side(reference, arena, true);
    }

    /** The backend under test: its tensors are uploads. */
    static Side candidate(Backend candidate, Arena arena) {
        return new Side(candidate, arena, false);
    }

    Backend backend() {
        return backend;
    }

    /**
     * This side's copy of the read-only input {@code host}: the tensor itself on the reference side,
     * else one upload per host tensor (so the input must be ready before its first use).
     */
    Tensor on(Tensor host) {
        return hostSide ? host : uploads.computeIfAbsent(host, t -> backend.upload(t, arena));
    }

    /** A new copy of {@code host} that this side's kernels may overwrite. */
    Tensor fresh(Tensor host) {
        Tensor copy = Tensor.allocate(arena, host.dtype(), host.shape());
        copy.copyFrom(host);
        return hostSide ? copy : backend.upload(copy, arena);
    }

    /** A zero-filled tensor of this side's backend. */
    Tensor allocate(DType dtype, int... shape) {
        return backend.allocate(arena, dtype, shape);
    }

    /** {@code t}, one of this side's tensors (dense or strided), in host memory. */
    Tensor host(Tensor t) {
        return hostSide ? t : backend.download(t, arena);
    }
}
