package org.gptneo.train;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.Map;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.nn.AdamW;
import org.gptneo.nn.GradientClipping;
import org.gptneo.parallel.DataParallel;
import org.gptneo.parallel.TensorParallelModel;

/**
 * AdamW on one tensor-parallel rank's shards: the gradients are first averaged over the
 * data-parallel group (the ranks holding the same shards), then the global norm is measured over
 * the tensor-parallel group ({@link TensorParallelModel#inspectGradients}: the shards' squares summed
 * over the ranks, replicated parameters once), and each rank updates its own shards (AdamW is
 * element-wise). A checkpoint's moments are gathered to full size, like the parameters, and a
 * restored checkpoint's full moments are cut into this rank's shards, so checkpoints are those of one process.
 */
final class TensorParallelOptimizer implements StepOptimizer {
    private final TensorParallelModel shards;
    private final DataParallel dataParallel;    // null: tensor parallelism alone
    private final Backend backend;
    private final Map<String, Var> parameters;
    private final AdamW adam;

    TensorParallelOptimizer(TensorParallelModel shards, AdamW.Settings settings, DataParallel dataParallel) {
        this.shards = shards;
        this.dataParallel = dataParallel;
        this.backend = shards.backend();
        this.parameters = shards.registry().trainable().asVars();
        this.adam = new AdamW(backend, parameters, settings, AdamW.decayExceptBiasAndNorm());
    }

    @Override
    public void setLearningRate(float lr) {
        adam.setLearningRate(lr);
    }

    /** The data-parallel mean of each shard's gradient, then the whole model's norm over the tensor-parallel ranks (collectives). */
    @Override
    public GradientClipping.Report reduceGradients() {
        if (dataParallel != null) dataParallel.averageGradients();
        return shards.inspectGradients();
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

    /** Every shard's moments put together to full size, by name, on every rank (a collective over the tensor-parallel group). */
    @Override
    public Map<String, AdamW.Moments> moments(Arena arena) {
        Map<String, AdamW.Moments> full = new LinkedHashMap<>();
        adam.moments().forEach((name, m) -> full.put(name,
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
            adam.restore(stepCount, own);
        }
    }

    /** Frees AdamW's moments; the shards and the groups belong to the trainer. */
    @Override
    public void close() {
        adam.close();
    }
}
