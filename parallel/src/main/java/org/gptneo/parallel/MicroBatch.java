package org.gptneo.parallel;

import org.gptneo.model.TrainingPass;
import org.gptneo.tensor.Tensor;

/**
 * One micro-batch of a pipeline step, the same on every stage: token ids and labels [B, T] (I32,
 * on the backend; the first stage embeds the ids, the last takes the labels, every stage reads the
 * shape) and its training pass (the dropout seed of its masks, activation checkpointing).
 */
public record MicroBatch(Tensor ids, Tensor labels, TrainingPass pass) {

    public MicroBatch {
        if (ids.rank() != 2 || !ids.sameShape(labels)) {
            throw new IllegalArgumentException("a micro-batch has ids and labels of one shape [B, T], got " + ids + " and " + labels);
        }
    }
}
