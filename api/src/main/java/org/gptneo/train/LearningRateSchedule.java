package org.gptneo.train;

/**
 * The learning rate of every optimizer step, as Hugging Face's {@code get_*_schedule_with_warmup}
 * computes it: step k (0-based) uses {@code peak · factor(k)}; during the warm-up
 * {@code factor = k / warmup} (so step 0 has rate 0), then {@code floor + (1 − floor) · decay} with
 * decay falling from 1 to 0 at {@code totalSteps} (linearly, or as half a cosine).
 *
 * @param floor the lowest rate as a fraction of the peak, in [0, 1) (Hugging Face's
 *              {@code min_lr_rate}; 0 = decay to zero)
 */
public record LearningRateSchedule(double peak, int warmupSteps, int totalSteps, Schedule schedule, double floor) {

    public LearningRateSchedule {
        if (!(peak > 0) || Double.isInfinite(peak)) throw new IllegalArgumentException("the learning rate must be > 0, got " + peak);
        if (totalSteps < 1) throw new IllegalArgumentException("steps must be at least 1, got " + totalSteps);
        if (warmupSteps < 0 || warmupSteps > totalSteps) {
            throw new IllegalArgumentException("warm-up steps must be in [0, " + totalSteps + "], got " + warmupSteps);
        }
        if (!(floor >= 0 && floor < 1)) throw new IllegalArgumentException("the learning-rate floor must be in [0, 1), got " + floor);
    }

    /** The rate of optimizer step {@code step} (0-based). */
    public double at(int step) {
        if (step < warmupSteps) {
            return peak * step / Math.max(1, warmupSteps);
        }
        if (schedule == Schedule.CONSTANT) {
            return peak;
        }
        double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);   // 0 → 1
        double decay = schedule == Schedule.LINEAR
                ? Math.max(0, 1 - progress)
                : Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
        return peak * (floor + (1 - floor) * decay);
    }
}
