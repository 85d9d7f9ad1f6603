package org.gptneo.parallel;

import java.util.Map;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;

/**
 * The gradient averaging of expert-parallel training, so that every rank steps as a data-parallel
 * replica holding every expert would. The data-parallel extent is D·ep ranks, each computing its own
 * rows: the expert-parallel group (ep ranks with different experts) times D ranks that hold the same
 * experts (the expert-data-parallel group). With rank = e + ep·d (expert-parallel rank e, data-parallel
 * index d), the groups are {@code world.split(d, e)} (expert-parallel) and {@code world.split(e, d)}
 * (expert-data-parallel); the replicated parameters average over the whole world.
 *
 * <p>After the backward pass a replicated parameter's gradient is this rank's own, ∂L_r/∂θ; a held
 * expert's is already Σ over the expert-parallel group of ∂L_s/∂W (each rank's rows came back with
 * their gradients). {@link #averageGradients} all-reduces the replicated ones with AVG over the D·ep
 * ranks, divides the experts' by ep and all-reduces them with AVG over the D ranks that hold them: both
 * end as (1/(D·ep))·Σ over all D·ep ranks, the same scale, the replicated data-parallel mean.
 */
public final class ExpertParallelGradients implements AutoCloseable {
    private final Backend backend;
    private final Map<String, Var> experts;
    private final int expertParallelRanks;
    private final DataParallel dense;
    private final DataParallel expertData;     // null when D = 1

    /** Without further data parallelism (D = 1): the replicated gradients average over the expert-parallel group. */
    public ExpertParallelGradients(ExpertParallelModel model) {
        this(model, model.communicator(), 1, null);
    }

    /**
     * @param dataParallel       every rank computing other rows: D·ep ranks (the world, without tensor or pipeline parallelism)
     * @param expertDataParallel the D ranks holding this rank's experts
     */
    public ExpertParallelGradients(ExpertParallelModel model, Communicator dataParallel, Communicator expertDataParallel) {
        this(model, dataParallel, expertDataParallel.size(), expertDataParallel);
    }

    private ExpertParallelGradients(ExpertParallelModel model, Communicator dataParallel, int d, Communicator expertDataParallel) {
        int ep = model.layout().ranks();
        if (dataParallel.size() != ep * d) {
            throw new IllegalArgumentException("the data-parallel group of " + dataParallel.size() + " ranks is not the "
                    + ep + " expert-parallel ranks times the " + d + " ranks holding the same experts");
        }
        this.backend = model.model().backend();
        this.experts = model.expertParameters();
        this.expertParallelRanks = ep;
        this.dense = new DataParallel(dataParallel, backend, model.denseParameters());
        this.expertData = d > 1 ? new DataParallel(expertDataParallel, backend, experts) : null;
    }

    /** Replaces every gradient by its mean over the D·ep data-parallel ranks (collectives over both groups). */
    public void averageGradients() {
        for (Var w : experts.values()) {
            if (w.grad() != null) backend.scale(w.grad(), 1f / expertParallelRanks);
        }
        dense.averageGradients();
        if (expertData != null) expertData.averageGradients();
    }

    /** The mean over the D·ep data-parallel ranks of each of {@code values} (losses), the same bits on every rank. */
    public float[] average(float[] values) {
        return dense.average(values);
    }

    @Override
    public void close() {
        dense.close();
        if (expertData != null) expertData.close();
    }
}
