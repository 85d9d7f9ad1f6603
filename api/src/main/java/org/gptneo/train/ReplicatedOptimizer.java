package org.gptneo.train;

import java.lang.foreign.Arena;
import java.util.Map;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.nn.AdamW;
import org.gptneo.nn.GradientClipping;
import org.gptneo.parallel.DataParallel;
import org.gptneo.parallel.OverlappedReduction;

/**
 * AdamW with the whole optimizer state on this process: one process ({@code dataParallel} null), or
 * every rank of a data-parallel group, whose gradients are first averaged over the ranks; each
 * rank then holds the same gradients and takes the same step.
 */
final class ReplicatedOptimizer extends RankAdamW {
    private final DataParallel dataParallel;   // null: one process

    ReplicatedOptimizer(Backend backend, Map<String, Var> parameters, AdamW.Settings settings, DataParallel dataParallel) {
        super(backend, parameters, settings);
        this.dataParallel = dataParallel;
    }

    @Override
    public GradientClipping.Report reduceGradients() {
        if (dataParallel != null) dataParallel.averageGradients();
        return GradientClipping.inspect(backend, parameters);
    }

    @Override
    public OverlappedReduction reduceDuringBackward(float scale) {
        return dataParallel != null && dataParallel.canOverlap() ? dataParallel.averageDuringBackward(scale) : null;
    }

    @Override
    public Map<String, AdamW.Moments> moments(Arena arena) {
        return adam.moments();
    }

    @Override
    public void restore(int stepCount, Map<String, AdamW.Moments> moments) {
        adam.restore(stepCount, moments);
    }
}
