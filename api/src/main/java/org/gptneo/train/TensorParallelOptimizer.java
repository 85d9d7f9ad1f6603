package org.gptneo.train;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.Map;
import org.gptneo.nn.AdamW;
import org.gptneo.nn.GradientClipping;
import org.gptneo.parallel.Communicator;
import org.gptneo.parallel.DataParallel;
import org.gptneo.parallel.TensorParallelModel;

/**
 * AdamW on one tensor-parallel rank's shards: the gradients are first averaged over the
 * data-parallel group (the ranks holding the same shards; under ZeRO-1 reduce-scattered over it, each
 * rank keeping the state of its part of the shards), then the global norm is measured over the
 * tensor-parallel group ({@link TensorParallelModel#inspectGradients}: the shards' squares summed over
 * the ranks, replicated parameters once), and each rank updates its own shards (AdamW is
 * element-wise). A checkpoint's moments are gathered to full size, like the parameters, and a
 * restored checkpoint's full moments are cut into this rank's shards, so checkpoints are those of one process.
 */
final class TensorParallelOptimizer extends RankAdamW {
    private final TensorParallelModel shards;
    private final DataParallel dataParallel;    // null: tensor parallelism alone

    /** @param zeroGroup the data-parallel group to shard AdamW's state over (ZeRO-1), or null */
    TensorParallelOptimizer(TensorParallelModel shards, AdamW.Settings settings, DataParallel dataParallel, Communicator zeroGroup) {
        super(shards.backend(), shards.registry().trainable().asVars(), settings, zeroGroup);
        this.shards = shards;
        this.dataParallel = dataParallel;
    }

    /** The data-parallel mean of each shard's gradient, then the whole model's norm over the tensor-parallel ranks (collectives). */
    @Override
    public GradientClipping.Report reduceGradients() {
        if (isSharded()) return shards.inspectGradients(reduceShardedGradients());
        if (dataParallel != null) dataParallel.averageGradients();
        return shards.inspectGradients();
    }

    /** Every shard's moments put together to full size, by name, on every rank (a collective over the tensor-parallel group). */
    @Override
    public Map<String, AdamW.Moments> moments(Arena arena) {
        Map<String, AdamW.Moments> full = new LinkedHashMap<>();
        ownMoments(arena).forEach((name, m) -> full.put(name,
                new AdamW.Moments(shards.gather(name, m.m(), arena), shards.gather(name, m.v(), arena))));
        return full;
    }

    /** Cuts a checkpoint's full-sized moments into this rank's shards. */
    @Override
    public void restore(int stepCount, Map<String, AdamW.Moments> moments) {
        try (Arena staging = Arena.ofShared()) {
            Map<String, AdamW.Moments> own = new LinkedHashMap<>();
            moments.forEach((name, m) -> own.put(name,
                    new AdamW.Moments(shards.shardOf(name, m.m(), staging), shards.shardOf(name, m.v(), staging))));
            restoreOwn(stepCount, own);
        }
    }
}
