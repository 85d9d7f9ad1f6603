package org.gptneo.train;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.Map;
import org.gptneo.nn.AdamW;
import org.gptneo.nn.GradientClipping;
import org.gptneo.parallel.Communicator;
import org.gptneo.parallel.DataParallel;
import org.gptneo.parallel.PipelineParallel;

/**
 * AdamW on one pipeline stage's parameters: the gradient norm and clipping are global over the
 * stages ({@link PipelineParallel#gradientReport}), each stage updates its own parameters (both copies
 * of the tied embedding alike), and a checkpoint's moments are gathered on the first stage. With a
 * data-parallel group (each stage replicated over it), the stage's gradients are first averaged over
 * the replicas, so the norm is that of the whole batch; under ZeRO-1 they are reduce-scattered over it,
 * each replica keeping the state of its part of the stage's parameters.
 */
final class PipelineOptimizer extends RankAdamW {
    private final PipelineParallel pipeline;
    private final DataParallel dataParallel;    // null: pipeline parallelism alone

    /** @param zeroGroup the data-parallel group to shard AdamW's state over (ZeRO-1), or null */
    PipelineOptimizer(PipelineParallel pipeline, AdamW.Settings settings, DataParallel dataParallel, Communicator zeroGroup) {
        super(pipeline.backend(), pipeline.parameters(), settings, zeroGroup);
        this.pipeline = pipeline;
        this.dataParallel = dataParallel;
    }

    /**
     * The step's gradients are final after {@link PipelineParallel#step} (and the data-parallel mean,
     * taken here); this measures them over every stage (collectives).
     */
    @Override
    public GradientClipping.Report reduceGradients() {
        if (isSharded()) return pipeline.gradientReport(reduceShardedGradients());
        if (dataParallel != null) dataParallel.averageGradients();
        return pipeline.gradientReport();
    }

    /** Every stage's moments by name on the first stage (collective); null on the others, which write nothing. */
    @Override
    public Map<String, AdamW.Moments> moments(Arena arena) {
        return pipeline.gatherMoments(ownMoments(arena), arena);
    }

    /** Takes this stage's parameters' moments (its shards of them under tensor parallelism) from {@code moments} (a checkpoint's, of the whole model). */
    @Override
    public void restore(int stepCount, Map<String, AdamW.Moments> moments) {
        try (Arena staging = Arena.ofShared()) {
            Map<String, AdamW.Moments> own = new LinkedHashMap<>();
            for (String name : pipeline.parameters().keySet()) {
                AdamW.Moments m = moments.get(name);
                if (m != null) {
                    own.put(name, new AdamW.Moments(pipeline.partOf(name, m.m(), staging), pipeline.partOf(name, m.v(), staging)));
                }
            }
            restoreOwn(stepCount, own);
        }
    }
}
