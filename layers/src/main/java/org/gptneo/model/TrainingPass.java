package org.gptneo.model;

/**
 * How one training forward pass of {@link GptNeoModel#forward(org.gptneo.autograd.Tape,
 * org.gptneo.tensor.Tensor, TrainingPass)} runs: dropout on, with masks that depend only on
 * {@code dropoutSeed} (and the dropout site and element), and optionally each block under activation
 * checkpointing (its intermediates recomputed in the backward pass instead of kept: less memory, one
 * more forward's time; same values and gradients).
 *
 * @param dropoutSeed      the seed of every dropout mask of the pass
 * @param checkpointBlocks run each block under {@link org.gptneo.autograd.Tape#checkpoint}
 */
public record TrainingPass(long dropoutSeed, boolean checkpointBlocks) {

    /**
     * The pass of optimizer step {@code step} of a run seeded {@code runSeed}: its dropout seed is a
     * fixed mix of the two, so a run resumed at step k draws the masks an uninterrupted run draws.
     */
    public static TrainingPass forStep(long runSeed, long step, boolean checkpointBlocks) {
        if (step < 0) {
            throw new IllegalArgumentException("training step must be 0 or more, got " + step);
        }
        return new TrainingPass(mix(mix(runSeed) + step), checkpointBlocks);
    }

    /** SplitMix64's finaliser: nearby inputs give unrelated seeds. */
    private static long mix(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
