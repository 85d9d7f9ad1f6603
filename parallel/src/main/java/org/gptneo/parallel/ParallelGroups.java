package org.gptneo.parallel;

/**
 * The data-, tensor- and pipeline-parallel groups of one rank of a world, in GPT-NeoX's (Megatron's)
 * rank layout: tensor-parallel fastest, then data-parallel, then pipeline-parallel, so that global
 * rank = tp + T·(dp + D·pp) (shared/spec/parallel.md §9). The tensor-parallel group holds the T
 * ranks of one (dp, pp), the data-parallel group the D ranks of one (tp, pp), the pipeline group the
 * P ranks of one (tp, dp); each is ordered by its own coordinate. Every group is split from the world
 * here, once, so that the layout lives in one place. Closing this closes the three groups, not the world.
 */
public final class ParallelGroups implements AutoCloseable {
    private final ParallelLayout layout;
    private final int rank;
    private final Communicator data, tensor, pipeline;

    private ParallelGroups(ParallelLayout layout, int rank, Communicator data, Communicator tensor, Communicator pipeline) {
        this.layout = layout;
        this.rank = rank;
        this.data = data;
        this.tensor = tensor;
        this.pipeline = pipeline;
    }

    /**
     * Splits {@code world} (every rank calls this, a collective) into this rank's groups of
     * {@code layout}, whose world size must be the world's; expert parallelism is not split here.
     */
    public static ParallelGroups split(Communicator world, ParallelLayout layout) {
        if (layout.ep() != 1) {
            throw new IllegalArgumentException("the data/tensor/pipeline groups take no expert parallelism, got " + layout);
        }
        layout.requireWorldSize(world.size());
        int t = layout.tp(), d = layout.dp();
        int r = world.rank();
        int tp = r % t, dp = r / t % d, pp = r / (t * d);
        Communicator tensor = null, data = null;
        try {
            tensor = world.split(dp + d * pp, tp);
            data = world.split(tp + t * pp, dp);
            Communicator pipeline = world.split(tp + t * dp, pp);
            return new ParallelGroups(layout, r, data, tensor, pipeline);
        } catch (RuntimeException | Error e) {
            if (tensor != null) tensor.close();
            if (data != null) data.close();
            throw e;
        }
    }

    public ParallelLayout layout() {
        return layout;
    }

    /** This rank in the world it was split from. */
    public int globalRank() {
        return rank;
    }

    /** The ranks that hold the same shards and stage and see other rows of each batch (size dp). */
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

    @Override
    public void close() {
        try {
            pipeline.close();
        } finally {
            try {
                data.close();
            } finally {
                tensor.close();
            }
        }
    }
}
