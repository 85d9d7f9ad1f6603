package org.gptneo.model;

import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/** Rejects model inputs that do not fit the configuration, with a message naming what is wrong. */
final class InputCheck {
    private InputCheck() {}

    static void requireIds(Tensor ids, GptNeoConfig config) {
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
        for (long i = 0; i < ids.size(); i++) {
            int id = ids.getInt(i);
            if (id < 0 || id >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " at [" + i / ids.dim(1) + ", " + i % ids.dim(1)
                        + "] is outside the vocabulary [0, " + config.vocabSize() + ")");
            }
        }
    }

    static void requirePositions(Tensor positions, Tensor ids, GptNeoConfig config) {
        if (positions.dtype() != DType.I32 || !positions.sameShape(ids)) {
            throw new IllegalArgumentException("positions must be an I32 tensor shaped like the ids " + ids + ", got " + positions);
        }
        for (long i = 0; i < positions.size(); i++) {
            int p = positions.getInt(i);
            if (p < 0 || p >= config.contextLength()) {
                throw new IllegalArgumentException("position " + p + " is outside the context [0, " + config.contextLength() + ")");
            }
        }
    }

    static void requireLabels(Tensor targets, GptNeoConfig config) {
        for (long i = 0; i < targets.size(); i++) {
            int id = targets.getInt(i);
            if (id != GptNeoModel.IGNORE_INDEX && (id < 0 || id >= config.vocabSize())) {
                throw new IllegalArgumentException("label " + id + " is outside the vocabulary [0, "
                        + config.vocabSize() + ") and is not the ignore index " + GptNeoModel.IGNORE_INDEX);
            }
        }
    }
}
