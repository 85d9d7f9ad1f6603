package org.gptneo.model;

import java.lang.foreign.Arena;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * Rejects model inputs that do not fit the configuration, with a message naming what is wrong. The
 * range checks run on the backend: one index crosses to the host, and the whole input only when it
 * is reported as bad.
 */
final class InputCheck {
    private InputCheck() {}

    static void requireIds(Backend backend, Tensor ids, GptNeoConfig config) {
        if (ids.dtype() != DType.I32 || ids.rank() != 2) {
            throw new IllegalArgumentException("token ids must be an I32 tensor [batch, time], got " + ids);
        }
        if (ids.dim(0) < 1 || ids.dim(1) < 1) {
            throw new IllegalArgumentException("token ids must not be empty, got " + ids);
        }
        if (ids.dim(1) > config.contextLength()) {
            throw new IllegalArgumentException("sequence of " + ids.dim(1) + " tokens exceeds the context length "
                    + config.contextLength());
        }
        long i = backend.firstOutOfRange(ids, 0, config.vocabSize(), 0);
        if (i >= 0) {
            throw new IllegalArgumentException("token id " + element(backend, ids, i) + " at [" + i / ids.dim(1) + ", "
                    + i % ids.dim(1) + "] is outside the vocabulary [0, " + config.vocabSize() + ")");
        }
    }

    static void requirePositions(Backend backend, Tensor positions, Tensor ids, GptNeoConfig config) {
        if (positions.dtype() != DType.I32 || !positions.sameShape(ids)) {
            throw new IllegalArgumentException("positions must be an I32 tensor shaped like the ids " + ids + ", got " + positions);
        }
        long i = backend.firstOutOfRange(positions, 0, config.contextLength(), 0);
        if (i >= 0) {
            throw new IllegalArgumentException("position " + element(backend, positions, i) + " is outside the context [0, "
                    + config.contextLength() + ")");
        }
    }

    static void requireLabels(Backend backend, Tensor targets, GptNeoConfig config) {
        long i = backend.firstOutOfRange(targets, 0, config.vocabSize(), GptNeoModel.IGNORE_INDEX);
        if (i >= 0) {
            throw new IllegalArgumentException("label " + element(backend, targets, i) + " is outside the vocabulary [0, "
                    + config.vocabSize() + ") and is not the ignore index " + GptNeoModel.IGNORE_INDEX);
        }
    }

    /** Element i of an I32 tensor of the backend, for an error message. */
    private static int element(Backend backend, Tensor t, long i) {
        try (Arena arena = Arena.ofConfined()) {
            return backend.download(t, arena).getInt(i);
        }
    }
}
