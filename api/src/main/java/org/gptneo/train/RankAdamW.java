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
import org.gptneo.parallel.ShardedAdamW;

/**
 * AdamW over the parameters this rank holds (all of them in one process or a data-parallel replica;
 * a stage, shards or a share of the experts otherwise): what every {@link StepOptimizer} has in
 * common. Its state is either whole on this rank ({@link AdamW}) or, under ZeRO-1, sharded over the
 * data-parallel group of the ranks holding the same parameters ({@link ShardedAdamW}, which also
 * reduce-scatters their gradients). AdamW is element-wise, so each rank updates its own parameters
 * once the gradients are reduced; subclasses say how they are reduced and measured, and how a
 * checkpoint's moments map to this rank's.
 */
abstract class RankAdamW implements StepOptimizer {
    protected final Backend backend;
    protected final Map<String, Var> parameters;
    private final AdamW adam;              // the whole state here; null under ZeRO-1
    private final ShardedAdamW sharded;    // ZeRO-1: the state sharded over the data-parallel group; else null

    /** @param zeroGroup the data-parallel group to shard the state over (ZeRO-1), or null to keep it whole */
    RankAdamW(Backend backend, Map<String, Var> parameters, AdamW.Settings settings, Communicator zeroGroup) {
        this.backend = backend;
        this.parameters = parameters;
        this.sharded = zeroGroup == null ? null
                : new ShardedAdamW(zeroGroup, backend, parameters, settings, AdamW.decayExceptBiasAndNorm(), DataParallel.DEFAULT_BUCKET_BYTES);
        this.adam = zeroGroup == null ? new AdamW(backend, parameters, settings, AdamW.decayExceptBiasAndNorm()) : null;
    }

    @Override
    public final void setLearningRate(float lr) {
        if (sharded != null) sharded.setLearningRate(lr);
        else adam.setLearningRate(lr);
    }

    /** Scales this rank's gradients (its shard of them under ZeRO-1); every rank scales by the same global norm. */
    @Override
    public final void clip(double norm, double maxNorm) {
        if (sharded != null) sharded.clip(norm, maxNorm);
        else GradientClipping.clip(backend, parameters, norm, maxNorm);
    }

    /** Updates this rank's parameters (under ZeRO-1: its shard, then all-gathers them over the data-parallel group). */
    @Override
    public final void step() {
        if (sharded != null) sharded.step();
        else adam.step();
    }

    @Override
    public final int stepCount() {
        return sharded != null ? sharded.stepCount() : adam.stepCount();
    }

    /** Whether the state is sharded over a data-parallel group (ZeRO-1). */
    protected final boolean isSharded() {
        return sharded != null;
    }

    /**
     * ZeRO-1: reduce-scatters the gradients' data-parallel mean and returns each parameter's squared
     * norm of it, by name (collectives over the data-parallel group).
     */
    protected final Map<String, Double> reduceShardedGradients() {
        return sharded.reduceGradientSquares();
    }

    /** ZeRO-1: the reduce-scatter started during the last backward pass, or null where it cannot overlap. */
    protected final OverlappedReduction reduceShardedDuringBackward(float scale) {
        return sharded.canOverlap() ? sharded.reduceDuringBackward(scale) : null;
    }

    /**
     * Full-sized moments of this rank's parameters, by name: AdamW's live tensors, or under ZeRO-1
     * gathered over the data-parallel group into {@code arena} (a collective).
     */
    protected final Map<String, AdamW.Moments> ownMoments(Arena arena) {
        return sharded != null ? sharded.gatherMoments(arena) : adam.moments();
    }

    /** Puts back the step count and the full-sized moments of this rank's parameters, by name. */
    protected final void restoreOwn(int stepCount, Map<String, AdamW.Moments> moments) {
        if (sharded != null) sharded.restore(stepCount, moments);
        else adam.restore(stepCount, moments);
    }

    /** Frees the optimizer state; the parameters and the groups belong to the trainer. */
    @Override
    public final void close() {
        if (sharded != null) sharded.close();
        else adam.close();
    }
}
