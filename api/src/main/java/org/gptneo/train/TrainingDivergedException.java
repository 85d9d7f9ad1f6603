package org.gptneo.train;

/**
 * Training stopped because a loss or a gradient became NaN or infinite. Names the step and the
 * first parameter (in checkpoint order) whose gradient went bad, or "loss" when the loss itself
 * did; the model then holds the weights from before that step.
 */
public final class TrainingDivergedException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int step;
    private final String culprit;

    TrainingDivergedException(int step, String culprit, double loss) {
        super("training diverged at step " + step + ": "
                + (culprit.equals("loss") ? "the loss is " + loss
                        : "the gradient of " + culprit + " is not finite (first such parameter; loss " + loss + ")")
                + "; the weights are those before this step (try a lower learning rate or gradient clipping)");
        this.step = step;
        this.culprit = culprit;
    }

    /** The 1-based step that went bad. */
    public int step() {
        return step;
    }

    /** The first parameter whose gradient was not finite, or "loss". */
    public String culprit() {
        return culprit;
    }
}
