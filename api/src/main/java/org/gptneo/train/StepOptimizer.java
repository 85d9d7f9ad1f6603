package org.gptneo.train;

import java.lang.foreign.Arena;
import java.util.Map;
import org.gptneo.nn.AdamW;
import org.gptneo.nn.GradientClipping;
import org.gptneo.parallel.OverlappedReduction;

/**
 * What turns a step's gradients into updated parameters: AdamW in one process
 * ({@link ReplicatedOptimizer} without a group), AdamW on every data-parallel rank after averaging
 * the gradients ({@link ReplicatedOptimizer} with one), or ZeRO-1's sharded AdamW
 * ({@link ShardedOptimizer}). In a data-parallel run every method is called by every rank in the
 * same order; those marked collective exchange data with the other ranks.
 */
interface StepOptimizer extends AutoCloseable {

    void setLearningRate(float lr);

    /**
     * Makes the step's gradient (the mean over the data-parallel ranks; collective) and measures it:
     * the global norm and the first parameter with a non-finite gradient, the same on every rank.
     */
    GradientClipping.Report reduceGradients();

    /**
     * Starts {@link #reduceGradients}' reduction during the backward pass of the step's last
     * micro-batch, each gradient multiplied by {@code scale} on its way (collective; see
     * {@link OverlappedReduction}), or null where this optimizer cannot: then the caller scales the
     * gradients and {@link #reduceGradients} reduces them after the pass. The caller finishes it before
     * its next collective; {@link #reduceGradients} then only measures.
     */
    default OverlappedReduction reduceDuringBackward(float scale) {
        return null;
    }

    /** Scales the gradient so that the global norm (as {@link #reduceGradients} measured) is at most {@code maxNorm}. */
    void clip(double norm, double maxNorm);

    /** Updates the parameters (collective under ZeRO: the updated shards are all-gathered). */
    void step();

    /** Steps taken so far (AdamW's bias-correction count). */
    int stepCount();

    /**
     * Every updated parameter's full-sized moments by name, as backend tensors (the live ones, or
     * copies in {@code arena}; collective under ZeRO): what a checkpoint saves.
     */
    Map<String, AdamW.Moments> moments(Arena arena);

    /** Puts back a checkpoint's step count and full-sized moments (backend tensors), by name. */
    void restore(int stepCount, Map<String, AdamW.Moments> moments);

    @Override
    void close();
}
