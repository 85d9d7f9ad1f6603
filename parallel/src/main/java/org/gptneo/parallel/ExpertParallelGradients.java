package org.gptneo.parallel;

import java.util.List;
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
 *
 * <p>Without a group of all D·ep ranks ({@link #stepwise}), the replicated gradients average over the
 * expert-parallel group, then over the expert-data-parallel group: the mean of D means of ep values
 * each, which is the mean over the D·ep ranks up to float rounding, and the same bits on every rank
 * (the second all-reduce combines values that are equal on every rank of an expert-parallel group).
 */
public final class ExpertParallelGradients implements AutoCloseable {
    private final Backend backend;
    private final Map<String, Var> experts;
    private final int expertParallelRanks;
    private final List<DataParallel> dense;    // the replicated parameters' averaging, one group after the other
    private final DataParallel expertData;     // null when D = 1
    private final int block, blocks;           // this rank's block of rows: e + ep·d of D·ep

    /** Without further data parallelism (D = 1): the replicated gradients average over the expert-parallel group. */
    public ExpertParallelGradients(ExpertParallelModel model) {
        this(model, List.of(model.communicator()), null);
    }

    /**
     * @param dataParallel       every rank computing other rows: D·ep ranks (the world, without tensor or pipeline parallelism)
     * @param expertDataParallel the D ranks holding this rank's experts
     */
    public ExpertParallelGradients(ExpertParallelModel model, Communicator dataParallel, Communicator expertDataParallel) {
        this(model, List.of(dataParallel), expertDataParallel);
    }

    /**
     * With the expert-parallel group and the D ranks holding this rank's experts only, as a trainer
     * given those two groups has them: the replicated gradients (and {@link #average}'s values) average
     * over the one, then the other.
     */
    public static ExpertParallelGradients stepwise(ExpertParallelModel model, Communicator expertDataParallel) {
        return new ExpertParallelGradients(model, List.of(model.communicator(), expertDataParallel), expertDataParallel);
    }

    private ExpertParallelGradients(ExpertParallelModel model, List<Communicator> denseGroups, Communicator expertDataParallel) {
        int ep = model.layout().ranks(), d = expertDataParallel == null ? 1 : expertDataParallel.size();
        int denseRanks = denseGroups.stream().mapToInt(Communicator::size).reduce(1, Math::multiplyExact);
        if (denseRanks != ep * d) {
            throw new IllegalArgumentException("the data-parallel group of " + denseRanks + " ranks is not the "
                    + ep + " expert-parallel ranks times the " + d + " ranks holding the same experts");
        }
        this.backend = model.model().backend();
        this.experts = model.expertParameters();
        this.expertParallelRanks = ep;
        this.dense = denseGroups.stream().map(g -> new DataParallel(g, backend, model.denseParameters())).toList();
        this.expertData = d > 1 ? new DataParallel(expertDataParallel, backend, experts) : null;
        this.block = model.layout().rank() + ep * (expertDataParallel == null ? 0 : expertDataParallel.rank());
        this.blocks = ep * d;
    }

    /** How many rows of a global batch of {@code batch} this rank computes: batch/(D·ep), or an error when that is not whole. */
    public int localRows(int batch) {
        return DataParallel.rowsPerRank(batch, blocks);
    }

    /** The first row of a global batch of {@code batch} rows that this rank computes: block e + ep·d of D·ep. */
    public int firstRow(int batch) {
        return block * localRows(batch);
    }

    /**
     * Gives every rank the parameters of rank 0 (e = 0, d = 0): its replicated parameters to all D·ep
     * ranks, each rank's experts to the ranks holding the same experts (collectives).
     */
    public void broadcastParameters() {
        dense.forEach(DataParallel::broadcastParameters);   // over the expert-parallel group from e = 0, then from d = 0
        if (expertData != null) expertData.broadcastParameters();
    }

    /** Replaces every gradient by its mean over the D·ep data-parallel ranks (collectives over both groups). */
    public void averageGradients() {
        for (Var w : experts.values()) {
            if (w.grad() != null) backend.scale(w.grad(), 1f / expertParallelRanks);
        }
        dense.forEach(DataParallel::averageGradients);
        if (expertData != null) expertData.averageGradients();
    }

    /**
     * ZeRO-1's part of {@link #averageGradients}: divides the experts' gradients by ep and averages the
     * replicated ones over the expert-parallel group (collective), so that the D ranks holding the
     * same parameters need only reduce-scatter them all with AVG to end where {@link #averageGradients}
     * does. Made by {@link #stepwise}, whose first group is the expert-parallel one.
     */
    public void averageOverExpertParallelGroup() {
        if (dense.size() != 2) throw new IllegalStateException("averageOverExpertParallelGroup needs a stepwise averaging");
        for (Var w : experts.values()) {
            if (w.grad() != null) backend.scale(w.grad(), 1f / expertParallelRanks);
        }
        dense.getFirst().averageGradients();
    }

    /** The mean over the D·ep data-parallel ranks of each of {@code values} (losses), the same bits on every rank. */
    public float[] average(float[] values) {
        float[] mean = values;
        for (DataParallel group : dense) mean = group.average(mean);
        return mean;
    }

    @Override
    public void close() {
        dense.forEach(DataParallel::close);
        if (expertData != null) expertData.close();
    }
}
