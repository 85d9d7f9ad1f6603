package org.gptneo.train;

import java.lang.foreign.Arena;
import java.util.Map;
import org.gptneo.nn.AdamW;
import org.gptneo.nn.GradientClipping;
import org.gptneo.parallel.OverlappedReduction;
import org.gptneo.parallel.ShardedAdamW;

/** ZeRO stage 1 (see {@link ShardedAdamW}): each data-parallel rank keeps and updates 1/D of AdamW's state. */
final class ShardedOptimizer implements StepOptimizer {
    private final ShardedAdamW adam;

    ShardedOptimizer(ShardedAdamW adam) {
        this.adam = adam;
    }

    @Override
    public void setLearningRate(float lr) {
        adam.setLearningRate(lr);
    }

    @Override
    public GradientClipping.Report reduceGradients() {
        return adam.reduceGradients();
    }

    @Override
    public OverlappedReduction reduceDuringBackward(float scale) {
        return adam.canOverlap() ? adam.reduceDuringBackward(scale) : null;
    }

    @Override
    public void clip(double norm, double maxNorm) {
        adam.clip(norm, maxNorm);
    }

    @Override
    public void step() {
        adam.step();
    }

    @Override
    public int stepCount() {
        return adam.stepCount();
    }

    @Override
    public Map<String, AdamW.Moments> moments(Arena arena) {
        return adam.gatherMoments(arena);
    }

    @Override
    public void restore(int stepCount, Map<String, AdamW.Moments> moments) {
        adam.restore(stepCount, moments);
    }

    @Override
    public void close() {
        adam.close();
    }
}
