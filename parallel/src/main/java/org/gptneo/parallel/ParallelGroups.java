package org.gptneo.parallel;

/**
 * The data-, tensor-, pipeline- and expert-parallel groups of one rank of a world, in GPT-NeoX's
 * (Megatron's) rank layout with expert parallelism where Megatron-Core puts it (its default order
 * tp-ep-dp-pp): tensor-parallel fastest, then expert-parallel, then data-parallel, then
 * pipeline-parallel, so that global rank = tp + T·(ep + E·(dp + D·pp)) (shared/spec/parallel.md §9;
 * with E = 1 that is tp + T·(dp + D·pp)). The tensor-parallel group holds the T ranks of one
 * (ep, dp, pp), the expert-parallel group the E ranks of one (tp, dp, pp), the data-parallel group
 * the D ranks of one (tp, ep, pp), which hold the same shards, stage and experts, the pipeline group
 * the P ranks of one (tp, ep, dp); each is ordered by its own coordinate. For dp=D,ep=E alone that is
 * rank = e + E·d, expert-parallel group {@code world.split(d, e)}, data-parallel group
 * {@code world.split(e, d)}: the groups {@link ExpertParallelGradients} documents. Every group is
 * split from the world here, once, so that the layout lives in one place. Closing this closes the
 * four groups, not the world.
 */
public final class ParallelGroups implements AutoCloseable {
    private final ParallelLayout layout;
    private final int rank;
    private final Communicator data, tensor, pipeline, expert;

    private ParallelGroups(ParallelLayout layout, int rank, Communicator data, Communicator tensor, Communicator pipeline,
                           Communicator expert) {
        this.layout = layout;
        this.rank = rank;
        this.data = data;
        this.tensor = tensor;
        this.pipeline = pipeline;
        this.expert = expert;
    }

    /**
     * Splits {@code world} (every rank calls this, a collective) into this rank's groups of
     * {@code layout}, whose world size must be the world's.
     */
    public static ParallelGroups split(Communicator world, ParallelLayout layout) {
        layout.requireWorldSize(world.size());
        int t = layout.tp(), e = layout.ep(), d = layout.dp();
        int r = world.rank();
        int tp = r % t, ep = r / t % e, dp = r / (t * e) % d, pp = r / (t * e * d);
        Communicator tensor = null, expert = null, data = null;
        try {
            tensor = world.split(ep + e * (dp + d * pp), tp);
            expert = world.split(tp + t * (dp + d * pp), ep);
            data = world.split(tp + t * (ep + e * pp), dp);
            Communicator pipeline = world.split(tp + t * (ep + e * dp), pp);
            return new ParallelGroups(layout, r, data, tensor, pipeline, expert);
        } catch (RuntimeException | Error failure) {
            if (tensor != null) tensor.close();
            if (expert != null) expert.close();
            if (data != null) data.close();
            throw failure;
        }
    }

    public ParallelLayout layout() {
        return layout;
    }

    /** This rank in the world it was split from. */
    public int globalRank() {
        return rank;
    }

    /** The ranks that hold the same shards, stage and experts and see other rows of each batch (size dp). */
    public Communicator data() {
        return data;
    }

    /** The ranks that hold the shards of one replica's stage (size tp). */
    public Communicator tensor() {
        return tensor;
    }

    /** The ranks that hold the stages of one replica's shard column (size pp). */
    public Communicator pipeline() {
        return pipeline;
    }

    /** The ranks that hold the other experts of one replica, each computing its own rows (size ep). */
    public Communicator expert() {
        return expert;
    }

    @Override
    public void close() {
        try {
            pipeline.close();
        } finally {
            try {
                data.close();
            } finally {
                try {
                    expert.close();
                } finally {
                    tensor.close();
                }
            }
        }
    }
}
