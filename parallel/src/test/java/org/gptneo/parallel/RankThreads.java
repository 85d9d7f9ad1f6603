package org.gptneo.parallel;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/** Runs one task per rank of a fresh in-process group, each on its own thread, and collects what they return. */
final class RankThreads {
    private RankThreads() {
    }

    /** The results of {@code task} on every rank of {@code group}, in rank order; rethrows the lowest rank's failure. */
    static <T> List<T> run(List<InProcessCommunicator> group, Function<InProcessCommunicator, T> task) {
        List<Outcome<T>> outcomes = outcomes(group, task);
        List<T> results = new ArrayList<>();
        for (Outcome<T> o : outcomes) {
            if (o.failure() != null) throw new AssertionError("rank failed: " + o.failure(), o.failure());
            results.add(o.value());
        }
        return results;
    }

    /** What every rank's {@code task} returned or threw, in rank order. */
    static <T> List<Outcome<T>> outcomes(List<InProcessCommunicator> group, Function<InProcessCommunicator, T> task) {
        try (ExecutorService pool = Executors.newFixedThreadPool(group.size())) {
            List<Future<T>> futures = new ArrayList<>();
            for (InProcessCommunicator c : group) futures.add(pool.submit(() -> task.apply(c)));
            List<Outcome<T>> out = new ArrayList<>();
            for (Future<T> f : futures) {
                try {
                    out.add(new Outcome<>(f.get(), null));
                } catch (ExecutionException e) {
                    out.add(new Outcome<>(null, e.getCause()));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError(e);
                }
            }
            return out;
        }
    }

    record Outcome<T>(T value, Throwable failure) {
    }
}
