package org.gptneo.train;

import java.util.Map;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.nn.AdamW;
import org.gptneo.nn.GradientClipping;

/**
 * AdamW over the parameters this rank holds (all of them in one process or a data-parallel replica;
 * a stage, shards or a share of the experts otherwise): what every {@link StepOptimizer} but ZeRO's
 * has in common. AdamW is element-wise, so each rank updates its own parameters once the gradients
 * are reduced; subclasses say how they are reduced and measured, and how a checkpoint's moments map
 * to this rank's.
 */
abstract class RankAdamW implements StepOptimizer {
    protected final Backend backend;
    protected final Map<String, Var> parameters;
    protected final AdamW adam;

    RankAdamW(Backend backend, Map<String, Var> parameters, AdamW.Settings settings) {
        this.backend = backend;
        this.parameters = parameters;
        this.adam = new AdamW(backend, parameters, settings, AdamW.decayExceptBiasAndNorm());
    }

    @Override
    public final void setLearningRate(float lr) {
        adam.setLearningRate(lr);
    }

    /** Scales this rank's gradients; every rank scales by the same global norm. */
    @Override
    public final void clip(double norm, double maxNorm) {
        GradientClipping.clip(backend, parameters, norm, maxNorm);
    }

    @Override
    public final void step() {
        adam.step();
    }

    @Override
    public final int stepCount() {
        return adam.stepCount();
    }

    /** Frees AdamW's moments; the parameters and the groups belong to the trainer. */
    @Override
    public final void close() {
        adam.close();
    }
}
