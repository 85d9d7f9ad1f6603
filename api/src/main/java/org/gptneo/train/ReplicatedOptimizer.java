package org.gptneo.train;

import java.lang.foreign.Arena;
import java.util.Map;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.nn.AdamW;
import org.gptneo.nn.GradientClipping;
import org.gptneo.parallel.DataParallel;

/**
 * AdamW with the whole optimizer state on this process: one process ({@code dataParallel} null), or
 * every rank of a data-parallel group, whose gradients are first averaged over the ranks; each
 * rank then holds the same gradients and takes the same step.
 */
final class ReplicatedOptimizer implements StepOptimizer {
    private final AdamW adam;
    private final DataParallel dataParallel;   // null: one process
    private final Backend backend;
    private final Map<String, Var> parameters;

    ReplicatedOptimizer(AdamW adam, DataParallel dataParallel, Backend backend, Map<String, Var> parameters) {
        this.adam = adam;
        this.dataParallel = dataParallel;
        this.backend = backend;
        this.parameters = parameters;
    }

    @Override
    public void setLearningRate(float lr) {
        adam.setLearningRate(lr);
    }

    @Override
    public GradientClipping.Report reduceGradients() {
        if (dataParallel != null) dataParallel.averageGradients();
        return GradientClipping.inspect(backend, parameters);
    }

    @Override
    public void clip(double norm, double maxNorm) {
        GradientClipping.clip(backend, parameters, norm, maxNorm);
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
        return adam.moments();
    }

    @Override
    public void restore(int stepCount, Map<String, AdamW.Moments> moments) {
        adam.restore(stepCount, moments);
    }

    /** Frees AdamW's moments; the data-parallel group belongs to the caller. */
    @Override
    public void close() {
        adam.close();
    }
}
