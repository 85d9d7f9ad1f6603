package org.gptneo.train;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.gptneo.nn.AdamW;
import org.gptneo.nn.GradientClipping;
import org.gptneo.nn.Parameter;
import org.gptneo.parallel.Communicator;
import org.gptneo.parallel.ExpertParallelGradients;
import org.gptneo.parallel.ExpertParallelModel;
import org.gptneo.tensor.Tensor;

/**
 * AdamW on one expert-parallel rank's parameters (the replicated ones and its share of the experts):
 * {@link ExpertParallelGradients} makes every gradient the mean over the D·ep ranks that compute
 * other rows, the norm is the whole model's ({@link ExpertParallelModel#inspectGradients}: the
 * experts' squares summed over the expert-parallel group, replicated parameters once), and each rank
 * updates its own parameters (AdamW is element-wise), as a data-parallel replica holding every expert
 * would. A checkpoint's moments are gathered to full size, like the weights, and a restored
 * checkpoint's full moments are cut to this rank's share, so checkpoints are those of one process.
 */
final class ExpertParallelOptimizer extends RankAdamW {
    private final ExpertParallelModel experts;
    private final ExpertParallelGradients gradients;
    private final Set<String> saved;             // the full model's trained names, in checkpoint order

    /**
     * @param trained   the names the full model trains (its moments are what a checkpoint holds)
     * @param zeroGroup the D ranks holding this rank's experts, to shard AdamW's state over (ZeRO-1), or null;
     *                  then {@code gradients} must be {@link ExpertParallelGradients#stepwise}
     */
    ExpertParallelOptimizer(ExpertParallelModel experts, ExpertParallelGradients gradients, AdamW.Settings settings,
                            Set<String> trained, Communicator zeroGroup) {
        super(experts.model().backend(), experts.model().registry().trainable().asVars(), settings, zeroGroup);
        this.experts = experts;
        this.gradients = gradients;
        this.saved = trained;
    }

    /** The mean over the D·ep ranks of every gradient, then the whole model's norm (collectives). */
    @Override
    public GradientClipping.Report reduceGradients() {
        if (isSharded()) {                          // over ep here, then reduce-scattered over the D ranks
            gradients.averageOverExpertParallelGroup();
            return experts.inspectGradients(reduceShardedGradients());
        }
        gradients.averageGradients();
        return experts.inspectGradients();
    }

    /**
     * The whole model's moments by name, on every rank (a collective over the expert-parallel group):
     * the replicated ones copied, the experts' gathered from their holders. A frozen parameter has no
     * moments; its value stands in for them in the gather and is dropped after.
     */
    @Override
    public Map<String, AdamW.Moments> moments(Arena arena) {
        Map<String, AdamW.Moments> own = ownMoments(arena);
        Map<String, Tensor> m = new LinkedHashMap<>(), v = new LinkedHashMap<>();
        for (Parameter p : experts.model().registry().all()) {
            AdamW.Moments moments = own.get(p.name());
            m.put(p.name(), moments != null ? moments.m() : p.value());
            v.put(p.name(), moments != null ? moments.v() : p.value());
        }
        Map<String, Tensor> fullM = experts.gather(m, arena), fullV = experts.gather(v, arena);
        Map<String, AdamW.Moments> full = new LinkedHashMap<>();
        for (String name : saved) full.put(name, new AdamW.Moments(fullM.get(name), fullV.get(name)));
        return full;
    }

    /** Keeps this rank's share of a checkpoint's full-sized moments: the replicated parameters' and its experts'. */
    @Override
    public void restore(int stepCount, Map<String, AdamW.Moments> moments) {
        Map<String, AdamW.Moments> share = new LinkedHashMap<>();
        for (String name : parameters.keySet()) {
            AdamW.Moments m = moments.get(name);
            if (m == null) throw new IllegalArgumentException("the saved optimizer state has no moments for '" + name + "'");
            share.put(name, m);
        }
        restoreOwn(stepCount, share);
    }
}
