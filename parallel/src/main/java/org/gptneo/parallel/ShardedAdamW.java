package org.gptneo.parallel;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.gptneo.autograd.Var;
import org.gptneo.backend.AdamWStep;
import org.gptneo.backend.Backend;
import org.gptneo.nn.AdamW;
import org.gptneo.nn.GradientClipping;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * ZeRO stage 1: AdamW with its moments sharded over the data-parallel ranks. The trained parameters
 * are laid end to end in buckets ({@link FlatLayout}); rank r owns block r of every bucket and keeps
 * the moments of those elements only (2/D of the parameters' size instead of 2). A step:
 * <ol>
 *   <li>{@link #reduceGradients}: each bucket of gradients is reduce-scattered with the mean over
 *       the ranks, so each rank holds the averaged gradient of its blocks; the global norm is the
 *       square root of the all-reduced sum of the ranks' sums of squares (identical on all ranks);</li>
 *   <li>{@link #clip}: each rank scales its blocks;</li>
 *   <li>{@link #step}: each rank runs the AdamW kernel on its blocks, parameter piece by parameter
 *       piece, with that parameter's weight decay and the shared step count for the bias
 *       correction, then every bucket of parameters is all-gathered so all ranks hold all of them.</li>
 * </ol>
 * AdamW is element-wise, so the parameters equal those of {@link AdamW} given the same gradients;
 * the communication volume equals a plain data-parallel all-reduce (reduce-scatter + all-gather).
 * {@link #gatherMoments} and {@link #restore} move between the sharded state and ordinary
 * full-sized moments, so checkpoints are those of one process.
 */
public final class ShardedAdamW implements AutoCloseable {
    /** A piece of a parameter inside this rank's blocks: its elements [from, to), at shard offset {@code at}. */
    private record Piece(FlatLayout.Entry entry, long from, long to, long at) {
        long count() {
            return to - from;
        }
    }

    private static final double CLIP_EPS = 1e-6;   // GradientClipping's: maxNorm / (norm + 1e-6)

    private final Collectives collectives;
    private final Backend backend;
    private final FlatLayout layout;
    private final int rank, ranks;
    private final long[] shardOffsets;             // per bucket: where its block starts in this rank's shard
    private final List<Piece> pieces = new ArrayList<>();
    private final Arena arena = Arena.ofShared();
    private final Tensor grad, m, v;               // [shard], on the backend
    private final Tensor bucket;                   // [largest bucket]
    private boolean[] present;                     // per entry: a gradient on some rank this step
    private final GradientBuckets gradients;       // reading and overlapping the reduce-scatters
    private AdamW.Settings settings;
    private int step;

    /**
     * @param parameters the trained parameters, in the same order on every rank
     * @param decays     which names get weight decay (as {@link AdamW}'s)
     */
    public ShardedAdamW(Communicator group, Backend backend, Map<String, Var> parameters, AdamW.Settings settings,
                        Predicate<String> decays, long bucketBytes) {
        this.collectives = new Collectives(group, backend);
        this.backend = backend;
        this.settings = settings;
        this.rank = group.rank();
        this.ranks = group.size();
        this.layout = new FlatLayout(parameters, decays, ranks, bucketBytes / Float.BYTES);
        this.shardOffsets = new long[layout.buckets().size()];
        long shard = 0;
        for (int j = 0; j < shardOffsets.length; j++) {
            FlatLayout.Bucket b = layout.buckets().get(j);
            shardOffsets[j] = shard;
            long block = b.length() / ranks, blockStart = b.start() + rank * block;
            for (FlatLayout.Entry e : layout.entries()) {
                long from = Math.max(blockStart, e.offset()), to = Math.min(blockStart + block, e.end());
                if (from < to) pieces.add(new Piece(e, from - e.offset(), to - e.offset(), shard + from - blockStart));
            }
            shard += block;
        }
        this.grad = collectives.allocate(arena, Math.max(1, shard));
        this.m = collectives.allocate(arena, Math.max(1, shard));
        this.v = collectives.allocate(arena, Math.max(1, shard));
        this.bucket = collectives.allocate(arena, Math.max(1, layout.largestBucket()));
        this.gradients = new GradientBuckets(collectives, backend, layout, bucket);
    }

    public void setLearningRate(float lr) {
        settings = settings.withLr(lr);
    }

    public int stepCount() {
        return step;
    }

    /** Moment elements this rank keeps per moment (its shard, padding included). */
    public long shardElements() {
        return grad.size();
    }

    /**
     * Reduce-scatters the mean of every rank's gradients (a collective) and measures it: the global
     * norm and the first parameter (in order) with a non-finite gradient, the same on every rank.
     */
    public GradientClipping.Report reduceGradients() {
        return GradientClipping.Report.of(reduceGradientSquares());
    }

    /**
     * Reduce-scatters the mean of every rank's gradients (or finishes the reduction started during the
     * backward pass) and returns, by name in order, the squared L2 norm of each parameter's averaged
     * gradient that some rank has, the same on every rank (collectives): the parts a caller whose
     * parameters are shards of a larger model combines into its norm. Non-finite where the gradient is.
     */
    public Map<String, Double> reduceGradientSquares() {
        if (!gradients.finishStarted()) {
            present = GradientPresence.agree(collectives, backend, layout.entries());
            for (int j = 0; j < shardOffsets.length; j++) scatterBucket(j, 1f);
        }
        double[] mine = new double[layout.entries().size()];      // this rank's blocks' part of each parameter's
        for (Piece p : pieces) {
            if (present[p.entry().index()]) mine[p.entry().index()] += backend.sumOfSquares(slice(grad, p));
        }
        float[] squares = new float[mine.length];
        for (int i = 0; i < mine.length; i++) squares[i] = (float) mine[i];
        squares = collectives.allReduce(squares, ReduceOp.SUM);
        Map<String, Double> out = new LinkedHashMap<>();
        for (FlatLayout.Entry e : layout.entries()) {
            if (present[e.index()]) out.put(e.name(), (double) squares[e.index()]);
        }
        return out;
    }

    /** Whether {@link #reduceDuringBackward} can run: host gradients and a host communicator (see {@link DataParallel#canOverlap()}). */
    public boolean canOverlap() {
        return gradients.canOverlap();
    }

    /**
     * Starts this step's reduce-scatter during a backward pass, as {@link DataParallel#averageDuringBackward}
     * starts an all-reduce: give the result to {@code tape.backward(loss, it)} on the step's last
     * micro-batch and finish it before any other collective of this group; {@link #reduceGradients()}
     * then only measures. Each bucket is multiplied by {@code scale} on its way; the shard ends as
     * {@link #reduceGradients()} leaves it for gradients scaled by {@code scale}, bit for bit.
     */
    public OverlappedReduction reduceDuringBackward(float scale) {
        return gradients.start(coming -> present = GradientPresence.agree(collectives, backend, layout.entries(), coming),
                j -> scatterBucket(j, scale), "reduceGradients()");
    }

    /** This rank's block of bucket j of the gradient shard ← the ranks' mean of scale × bucket j. */
    private void scatterBucket(int j, float scale) {
        collectives.reduceScatter(gradients.read(j, scale), block(grad, j), ReduceOp.AVG);
    }

    /** Scales this rank's gradient shard so that the global norm is at most {@code maxNorm}; returns the factor. */
    public double clip(double norm, double maxNorm) {
        if (!(maxNorm > 0)) throw new IllegalArgumentException("the clipping norm must be > 0, got " + maxNorm);
        double coefficient = maxNorm / (norm + CLIP_EPS);
        if (coefficient >= 1) return 1;
        backend.scale(grad, (float) coefficient);
        return coefficient;
    }

    /** Updates this rank's blocks of the parameters and all-gathers every bucket of them (a collective). */
    public void step() {
        if (present == null) throw new IllegalStateException("step() needs reduceGradients() first");
        step++;
        for (Piece p : pieces) {
            if (!present[p.entry().index()]) continue;
            float wd = p.entry().decays() ? settings.weightDecay() : 0f;
            backend.adamW(FlatLayout.flat(p.entry().param().value(), p.from(), p.to()), slice(grad, p), slice(m, p), slice(v, p),
                    new AdamWStep(settings.lr(), settings.beta1(), settings.beta2(), settings.eps(), wd, step));
        }
        present = null;
        for (FlatLayout.Bucket b : layout.buckets()) {
            Tensor buffer = bucket.rows(0, Math.toIntExact(b.length()));
            int block = Math.toIntExact(b.length() / ranks);
            Tensor mine = buffer.rows(rank * block, (rank + 1) * block);
            layout.read(backend, Var::value, b.start() + (long) rank * block, mine);
            collectives.allGather(mine, buffer);
            layout.write(backend, Var::value, b.start(), buffer);
        }
    }

    /**
     * Every parameter's full moments, by name, as backend tensors in {@code into} (a collective: every
     * rank calls it and gets them): the state {@link AdamW#moments()} would hold.
     */
    public Map<String, AdamW.Moments> gatherMoments(Arena into) {
        Map<String, AdamW.Moments> out = new LinkedHashMap<>();
        Map<Var, Tensor> fullM = new LinkedHashMap<>(), fullV = new LinkedHashMap<>();
        for (FlatLayout.Entry e : layout.entries()) {
            AdamW.Moments moments = new AdamW.Moments(backend.allocate(into, DType.F32, e.param().shape()),
                    backend.allocate(into, DType.F32, e.param().shape()));
            out.put(e.name(), moments);
            fullM.put(e.param(), moments.m());
            fullV.put(e.param(), moments.v());
        }
        for (int j = 0; j < shardOffsets.length; j++) {
            FlatLayout.Bucket b = layout.buckets().get(j);
            Tensor buffer = bucket.rows(0, Math.toIntExact(b.length()));
            collectives.allGather(block(m, j), buffer);
            layout.write(backend, fullM::get, b.start(), buffer);
            collectives.allGather(block(v, j), buffer);
            layout.write(backend, fullV::get, b.start(), buffer);
        }
        return out;
    }

    /** Puts back a saved state: the step count, and this rank's blocks of every parameter's full moments (by name). */
    public void restore(int stepCount, Map<String, AdamW.Moments> saved) {
        if (stepCount < 0) throw new IllegalArgumentException("step count must be >= 0, got " + stepCount);
        for (FlatLayout.Entry e : layout.entries()) {
            AdamW.Moments s = saved.get(e.name());
            if (s == null) throw new IllegalArgumentException("the saved optimizer state has no moments for '" + e.name() + "'");
            if (!s.m().sameShape(e.param().value()) || !s.v().sameShape(e.param().value())) {
                throw new IllegalArgumentException("saved moments of '" + e.name() + "' have shape " + s.m() + ", the parameter " + e.param().value());
            }
        }
        if (saved.size() != layout.entries().size()) {
            throw new IllegalArgumentException("the saved optimizer state has " + saved.size() + " parameters' moments, this optimizer trains "
                    + layout.entries().size());
        }
        for (Piece p : pieces) {
            AdamW.Moments s = saved.get(p.entry().name());
            backend.copy(FlatLayout.flat(s.m(), p.from(), p.to()), slice(m, p));
            backend.copy(FlatLayout.flat(s.v(), p.from(), p.to()), slice(v, p));
        }
        step = stepCount;
    }

    /** This rank's block of bucket j in a shard tensor. */
    private Tensor block(Tensor shard, int j) {
        long length = layout.buckets().get(j).length() / ranks;
        return shard.rows(Math.toIntExact(shardOffsets[j]), Math.toIntExact(shardOffsets[j] + length));
    }

    private static Tensor slice(Tensor shard, Piece p) {
        return shard.rows(Math.toIntExact(p.at()), Math.toIntExact(p.at() + p.count()));
    }

    @Override
    public void close() {
        gradients.close();
        arena.close();
    }
}
