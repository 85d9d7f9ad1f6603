package org.gptneo.train;

/**
 * Every number that decides a training run's loss curve. A resumed run must have the same settings
 * as the run that wrote the checkpoint (see {@link #differenceFrom}), or it would not continue the
 * same curve.
 *
 * @param gradClip     global gradient-norm limit; 0 = no clipping
 * @param lrFloor      lowest learning rate as a fraction of the peak (see {@link LearningRateSchedule})
 * @param shuffle      a new seeded order of the sequences every epoch (else in order)
 * @param validationSplit fraction of the training sequences held out for evaluation (0 = none)
 */
public record TrainerSettings(int steps, int batchSize, int seqLen, int accumulate, double learningRate, int warmup,
                              Schedule schedule, double lrFloor, double weightDecay, double beta1, double beta2,
                              double eps, double gradClip, long seed, boolean shuffle, double validationSplit) {

    public TrainerSettings {
        require(steps >= 1, "steps must be at least 1, got " + steps);
        require(batchSize >= 1, "the batch size must be at least 1, got " + batchSize);
        require(seqLen >= 2, "the sequence length must be at least 2 (one input and one target), got " + seqLen);
        require(accumulate >= 1, "accumulate must be at least 1, got " + accumulate);
        require(weightDecay >= 0 && Double.isFinite(weightDecay), "weight decay must be >= 0, got " + weightDecay);
        require(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "Adam betas must be in [0, 1), got " + beta1 + ", " + beta2);
        require(eps > 0, "Adam's eps must be > 0, got " + eps);
        require(gradClip >= 0 && Double.isFinite(gradClip), "the gradient clip must be >= 0 (0 = off), got " + gradClip);
        require(validationSplit >= 0 && validationSplit < 1, "the validation split must be in [0, 1), got " + validationSplit);
        new LearningRateSchedule(learningRate, warmup, steps, schedule, lrFloor);   // validates those five
    }

    public LearningRateSchedule learningRateSchedule() {
        return new LearningRateSchedule(learningRate, warmup, steps, schedule, lrFloor);
    }

    /** Tokens one optimizer step trains on. */
    public long tokensPerStep() {
        return (long) batchSize * seqLen * accumulate;
    }

    /** The first setting that differs from {@code saved}, described for an error message, or null when none does. */
    String differenceFrom(TrainerSettings saved) {
        var mine = TrainerSettings.class.getRecordComponents();
        for (var component : mine) {
            try {
                Object a = component.getAccessor().invoke(this);
                Object b = component.getAccessor().invoke(saved);
                if (!a.equals(b)) return component.getName() + " is " + a + " now but " + b + " in the checkpoint";
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
        return null;
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }
}
