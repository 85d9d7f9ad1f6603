package org.gptneo.parallel;

import java.lang.foreign.Arena;
import java.util.Map;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.Tensor;

/**
 * One rank's part of data-parallel training: the rows of the global batch it computes, and the
 * averaging of every rank's gradients so that all ranks step with the gradient of the whole batch.
 *
 * <p>Batch: a global batch of B rows is split into D blocks of B/D consecutive rows; rank r takes
 * block r, the rows a single process would put at positions [r·B/D, (r+1)·B/D). Each rank's loss is
 * the mean over its rows; the mean of the ranks' losses and gradients is then the single process's
 * (for losses that weigh every row alike, as a causal LM over packed sequences does).
 *
 * <p>Gradients: {@link #averageGradients} lays the gradients end to end (see {@link FlatLayout}),
 * copies them bucket by bucket (a few MB each) into one buffer, all-reduces each bucket with
 * {@link ReduceOp#AVG} and copies the mean back, after the backward pass. {@link #averageDuringBackward}
 * does the same work overlapped with the step's last backward pass: a communication thread reduces
 * each bucket as soon as the pass has completed its parameters (see {@link OverlappedReduction}). The
 * reductions combine in rank order on every rank (as the in-process communicator does), so every rank
 * ends with the same bits and the optimizers stay in step.
 */
public final class DataParallel implements AutoCloseable {
    /** Bytes per all-reduce bucket unless the constructor is given another size. */
    public static final long DEFAULT_BUCKET_BYTES = 4L << 20;

    private final Collectives collectives;
    private final Backend backend;
    private final FlatLayout layout;
    private final Arena arena = Arena.ofShared();
    private final Tensor bucket;     // [largest bucket], on the backend
    private final GradientBuckets gradients;

    /** @param parameters the trained parameters, in the same order on every rank */
    public DataParallel(Communicator group, Backend backend, Map<String, Var> parameters) {
        this(group, backend, parameters, DEFAULT_BUCKET_BYTES);
    }

    public DataParallel(Communicator group, Backend backend, Map<String, Var> parameters, long bucketBytes) {
        this.collectives = new Collectives(group, backend);
        this.backend = backend;
        this.layout = new FlatLayout(parameters, name -> true, group.size(), bucketBytes / Float.BYTES);
        this.bucket = collectives.allocate(arena, Math.max(1, layout.largestBucket()));
        this.gradients = new GradientBuckets(collectives, backend, layout, bucket);
    }

    public Communicator group() {
        return collectives.group();
    }

    /** How many rows of a global batch of {@code batch} each rank computes. */
    public int localRows(int batch) {
        return rowsPerRank(batch, group().size());
    }

    /** The first row of a global batch of {@code batch} rows that this rank computes. */
    public int firstRow(int batch) {
        return group().rank() * localRows(batch);
    }

    /** B/D, or an error when the data-parallel degree does not divide the batch. */
    public static int rowsPerRank(int batch, int ranks) {
        if (batch % ranks != 0) {
            throw new IllegalArgumentException("the batch size " + batch + " is not divisible by the data-parallel degree " + ranks
                    + " (each rank takes batch/dp rows)");
        }
        return batch / ranks;
    }

    /** Gives every rank rank 0's parameter values (a collective), so that replicas start alike. */
    public void broadcastParameters() {
        for (FlatLayout.Bucket b : layout.buckets()) {
            Tensor buffer = bucket.rows(0, Math.toIntExact(b.length()));
            layout.read(backend, Var::value, b.start(), buffer);
            collectives.broadcast(buffer, 0);
            layout.write(backend, Var::value, b.start(), buffer);
        }
    }

    /** Replaces every rank's gradients by their mean over the ranks (a collective), bucket by bucket. */
    public void averageGradients() {
        if (gradients.finishStarted()) return;
        GradientPresence.agree(collectives, backend, layout.entries());
        for (int j = 0; j < layout.buckets().size(); j++) averageBucket(j, 1f);
    }

    /**
     * Whether {@link #averageDuringBackward} can run: the gradients are in host memory and the
     * communicator reduces host memory (MPI, in-process). Not so for a GPU backend or NCCL.
     */
    public boolean canOverlap() {
        return gradients.canOverlap();
    }

    /**
     * Starts this step's averaging during a backward pass (a collective, in step on every rank): give
     * the result to {@code tape.backward(loss, it)} on the step's last micro-batch, then call its
     * {@link OverlappedReduction#finish()} before any other collective of this group. Each bucket is
     * multiplied by {@code scale} on its way (1/k for k accumulated micro-batches, whose gradients then
     * need no scaling of their own). The gradients end as {@link #averageGradients} leaves gradients
     * scaled by {@code scale}, bit for bit; a later {@link #averageGradients} call that step only waits for it.
     */
    public OverlappedReduction averageDuringBackward(float scale) {
        return gradients.start(coming -> GradientPresence.agree(collectives, backend, layout.entries(), coming),
                j -> averageBucket(j, scale), "averageGradients()");
    }

    /** Bucket j of the gradients ← the ranks' mean of scale × bucket j. */
    private void averageBucket(int j, float scale) {
        Tensor buffer = gradients.read(j, scale);
        collectives.allReduce(buffer, ReduceOp.AVG);
        layout.write(backend, Var::grad, layout.buckets().get(j).start(), buffer);
    }

    /** The mean over the ranks of each of {@code values} (a collective): the same bits on every rank. */
    public float[] average(float[] values) {
        return collectives.allReduce(values, ReduceOp.AVG);
    }

    /** Gradient bytes one {@link #averageGradients} call all-reduces (the buckets, padding included). */
    public long gradientBytes() {
        return layout.buckets().stream().mapToLong(FlatLayout.Bucket::length).sum() * Float.BYTES;
    }

    /** How many all-reduce buckets a step uses. */
    public int bucketCount() {
        return layout.buckets().size();
    }

    @Override
    public void close() {
        gradients.close();
        arena.close();
    }
}
