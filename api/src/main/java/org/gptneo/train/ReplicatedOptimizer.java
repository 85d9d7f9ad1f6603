package org.gptneo.train;

import java.lang.foreign.Arena;
import java.util.Map;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.nn.AdamW;
import org.gptneo.nn.GradientClipping;
import org.gptneo.parallel.Communicator;
import org.gptneo.parallel.DataParallel;
import org.gptneo.parallel.OverlappedReduction;

/**
 * AdamW over the whole model: one process ({@code dataParallel} null), or every rank of a
 * data-parallel group, whose gradients are first averaged over the ranks, so that each rank takes
 * the same step; under ZeRO-1 ({@code zeroGroup}, the same group) each rank keeps and updates 1/D of
 * the state, the gradients reduce-scattered and the parameters all-gathered.
 */
final class ReplicatedOptimizer extends RankAdamW {
    private final DataParallel dataParallel;   // null: one process

    ReplicatedOptimizer(Backend backend, Map<String, Var> parameters, AdamW.Settings settings, DataParallel dataParallel,
                        Communicator zeroGroup) {
        super(backend, parameters, settings, zeroGroup);
        this.dataParallel = dataParallel;
    }

    @Override
    public GradientClipping.Report reduceGradients() {
        if (isSharded()) return GradientClipping.Report.of(reduceShardedGradients());
        if (dataParallel != null) dataParallel.averageGradients();
        return GradientClipping.inspect(backend, parameters);
    }

    @Override
    public OverlappedReduction reduceDuringBackward(float scale) {
        if (isSharded()) return reduceShardedDuringBackward(scale);
        return dataParallel != null && dataParallel.canOverlap() ? dataParallel.averageDuringBackward(scale) : null;
    }

    @Override
    public Map<String, AdamW.Moments> moments(Arena arena) {
        return ownMoments(arena);
    }

    @Override
    public void restore(int stepCount, Map<String, AdamW.Moments> moments) {
        restoreOwn(stepCount, moments);
    }
}
