package org.gptneo.parallel;

import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.Tensor;

/**
 * What {@link DataParallel} and {@link ShardedAdamW} share in reducing a step's gradients bucket by
 * bucket: reading bucket j into the buffer (scaled on its way), and doing it during the backward pass
 * on a communication thread ({@link OverlappedReduction}) with the reduction in flight remembered until
 * the step's reduction call waits for it. Each owner brings its own collective per bucket.
 */
final class GradientBuckets implements AutoCloseable {
    private final Collectives collectives;
    private final Backend backend;
    private final FlatLayout layout;
    private final Tensor bucket;                 // [largest bucket], the owner's
    private ExecutorService communication;       // the thread of overlapped reductions, from the first one on
    private OverlappedReduction inFlight;        // this step's reduction started during backward, until finished

    GradientBuckets(Collectives collectives, Backend backend, FlatLayout layout, Tensor bucket) {
        this.collectives = collectives;
        this.backend = backend;
        this.layout = layout;
        this.bucket = bucket;
    }

    /** The buffer holding {@code scale} × bucket j of the gradients [bucket j's length]. */
    Tensor read(int j, float scale) {
        FlatLayout.Bucket b = layout.buckets().get(j);
        Tensor buffer = bucket.rows(0, Math.toIntExact(b.length()));
        layout.read(backend, Var::grad, b.start(), buffer);
        if (scale != 1f) backend.scale(buffer, scale);
        return buffer;
    }

    /**
     * Whether a reduction can run during the backward pass: the gradients are in host memory and the
     * communicator reduces host memory (MPI, in-process), which a communication thread may then read
     * and write. Not so for a GPU backend's device memory or NCCL, whose CUDA context is per thread.
     */
    boolean canOverlap() {
        return bucket.isHostAccessible() && collectives.group().accepts(bucket);
    }

    /**
     * Starts this step's reduction during a backward pass: {@code agree} when the pass starts (a
     * collective on the calling thread), then {@code reduceBucket} for each bucket on the communication
     * thread. {@code after} names the call to use instead where it cannot overlap.
     */
    OverlappedReduction start(Consumer<List<Var>> agree, IntConsumer reduceBucket, String after) {
        if (!canOverlap()) {
            throw new IllegalStateException("cannot reduce during backward on " + backend + " with " + collectives.group().name()
                    + ": use " + after + " after it");
        }
        if (communication == null) communication = OverlappedReduction.communicationThread();
        inFlight = new OverlappedReduction(layout, communication, agree, reduceBucket);
        return inFlight;
    }

    /** Waits for the reduction started this step, if any (a collective): false when none was started. */
    boolean finishStarted() {
        if (inFlight == null) return false;
        inFlight.finish();
        inFlight = null;
        return true;
    }

    @Override
    public void close() {
        if (communication != null) communication.shutdownNow();
    }
}
