package org.gptneo.parallel;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import org.gptneo.autograd.GradientListener;
import org.gptneo.autograd.Var;

/**
 * One step's gradient reduction started during the backward pass: each bucket of the flat gradient
 * (see {@link FlatLayout}) is reduced on a communication thread as soon as the pass has completed every
 * parameter in it, while the pass computes the earlier layers' gradients. Give it to
 * {@code Tape.backward(loss, reduction)} on the step's last micro-batch, then call {@link #finish()}.
 *
 * <p>Buckets are reduced strictly from the last to the first, the order in which a backward pass
 * completes them, so every rank issues the same collectives in the same order whatever its timing.
 * Each bucket's work is the one the non-overlapped reduction does, so the results are the same bits.
 * When the pass starts, the ranks first agree (one small collective, on the calling thread) on which
 * parameters will have a gradient; see {@link GradientPresence}.
 */
public final class OverlappedReduction implements GradientListener {
    private final FlatLayout layout;
    private final ExecutorService communication;
    private final Consumer<List<Var>> agreeOnPresence;
    private final IntConsumer reduceBucket;
    private final Map<Var, List<Integer>> bucketsOf = new IdentityHashMap<>();
    private final int[] pending;             // per bucket: its parameters not yet complete
    private final List<Future<?>> issued = new ArrayList<>();
    private int next;                        // the next bucket to issue; they go from last to first
    private int issuedDuringPass;
    private boolean started;

    /**
     * @param agreeOnPresence run when the pass starts with the parameters it will complete (a collective)
     * @param reduceBucket    the reduction of bucket j, run on {@code communication} (a single thread)
     */
    OverlappedReduction(FlatLayout layout, ExecutorService communication, Consumer<List<Var>> agreeOnPresence,
                        IntConsumer reduceBucket) {
        this.layout = layout;
        this.communication = communication;
        this.agreeOnPresence = agreeOnPresence;
        this.reduceBucket = reduceBucket;
        List<FlatLayout.Bucket> buckets = layout.buckets();
        this.pending = new int[buckets.size()];
        this.next = buckets.size() - 1;
        for (FlatLayout.Entry e : layout.entries()) {
            List<Integer> mine = new ArrayList<>(1);
            for (int j = 0; j < buckets.size(); j++) {
                FlatLayout.Bucket b = buckets.get(j);
                if (b.start() < e.end() && e.offset() < b.start() + b.length()) mine.add(j);
            }
            bucketsOf.put(e.param(), mine);
        }
    }

    /** The single thread that runs a group's overlapped reductions, one bucket after another. */
    static ExecutorService communicationThread() {
        return Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon().name("gptneo-gradients").factory());
    }

    @Override
    public void starting(List<Var> parameters) {
        if (started) throw new IllegalStateException("an OverlappedReduction serves one backward pass");
        started = true;
        agreeOnPresence.accept(parameters);
        for (Var p : parameters) {
            for (int j : bucketsOf.getOrDefault(p, List.of())) pending[j]++;
        }
        issueReady();
    }

    @Override
    public void completed(Var parameter) {
        for (int j : bucketsOf.getOrDefault(parameter, List.of())) pending[j]--;
        issueReady();
    }

    /**
     * Issues the buckets not issued yet and waits until every bucket is reduced: then the gradients
     * hold the reduction's result. Rethrows the first failure of a bucket's reduction.
     */
    public void finish() {
        if (!started) {
            starting(List.of());                 // a pass that completed no parameter: every bucket is ready
        }
        while (next >= 0) issue();
        RuntimeException failure = null;
        for (Future<?> f : issued) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failure == null) failure = e.getCause() instanceof RuntimeException r ? r : new CommunicatorException(
                        "gradient reduction failed: " + e.getCause(), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CommunicatorException("interrupted while waiting for the gradient reduction", e);
            }
        }
        issued.clear();
        if (failure != null) throw failure;
    }

    /** How many buckets were handed to the communication thread before {@link #finish()}: those that overlapped the pass. */
    int issuedDuringPass() {
        return issuedDuringPass;
    }

    private void issueReady() {
        while (next >= 0 && pending[next] == 0) {
            issue();
            issuedDuringPass++;
        }
    }

    private void issue() {
        int j = next--;
        issued.add(communication.submit(() -> reduceBucket.accept(j)));
    }
}
