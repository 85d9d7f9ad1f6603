package org.gptneo.train;

import java.nio.file.Path;
import java.util.Optional;

/**
 * How {@link Trainer#fit()} ended.
 *
 * @param steps          optimizer steps done in total (including those before a resume)
 * @param finalLoss      the last step's training loss (NaN when no step ran)
 * @param lastEvaluation the last evaluation, if any ran
 * @param lastCheckpoint the newest complete checkpoint, if any was written
 */
public record TrainingResult(Status status, int steps, double finalLoss, Optional<EvalMetrics> lastEvaluation,
                             Optional<Path> lastCheckpoint) {

    public enum Status {
        /** Every requested step ran. */
        COMPLETED,
        /** {@link Trainer#cancel()} stopped it between steps; a checkpoint of that step was saved. */
        CANCELLED
    }
}
