package org.gptneo.backend;

/**
 * The scalars of one AdamW update.
 *
 * @param step 1-based step number t (for bias correction)
 */
public record AdamWStep(float lr, float beta1, float beta2, float eps, float weightDecay, int step) {
    public AdamWStep {
        if (step < 1) {
            throw new IllegalArgumentException("AdamW step numbers start at 1, got " + step);
        }
    }
}
