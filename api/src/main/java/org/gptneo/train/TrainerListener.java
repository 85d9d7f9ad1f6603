package org.gptneo.train;

import java.nio.file.Path;

/** Hears what a {@link Trainer} does, on the training thread; keep the methods quick. */
public interface TrainerListener {

    /** After every optimizer step whose number is a multiple of the log interval (and the last). */
    default void onStep(StepMetrics metrics) {}

    /** After every evaluation. */
    default void onEvaluation(EvalMetrics metrics) {}

    /** After a checkpoint is complete on disk. */
    default void onCheckpoint(int step, Path dir) {}
}
