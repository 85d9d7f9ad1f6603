package org.gptneo.parallel;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * Runs the ranks of an in-process group as threads of this JVM. A rank whose task throws aborts the
 * group, so the others' collectives fail at once instead of waiting for it; the run then fails with
 * one {@link CommunicatorException} naming the rank that failed first ("rank 1 failed: ..."), its
 * cause attached.
 */
public final class InProcessRanks {
    private InProcessRanks() {
    }

    /** What {@code task} returns on each of {@code ranks} ranks, in rank order, each run on its own thread. */
    public static <T> List<T> run(int ranks, Function<Communicator, T> task) {
        return run(InProcessCommunicator.group(ranks), task);
    }

    /** As {@link #run(int, Function)} on the ranks of an existing group (one communicator per rank). */
    public static <T> List<T> run(List<InProcessCommunicator> group, Function<Communicator, T> task) {
        List<Throwable> failures = new ArrayList<>();
        List<T> results = new ArrayList<>();
        try (ExecutorService threads = Executors.newThreadPerTaskExecutor(Thread.ofPlatform().name("rank-", 0).factory())) {
            List<Future<T>> futures = new ArrayList<>();
            for (InProcessCommunicator c : group) {
                futures.add(threads.submit(() -> {
                    try {
                        T result = task.apply(c);
                        c.close();
                        return result;
                    } catch (Throwable t) {
                        c.abort(t);   // before closing, so that the others learn why
                        c.close();
                        throw t;
                    }
                }));
            }
            for (Future<T> f : futures) {
                try {
                    results.add(f.get());
                    failures.add(null);
                } catch (ExecutionException e) {
                    results.add(null);
                    failures.add(e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    group.forEach(c -> c.abort(e));
                    throw new CommunicatorException("interrupted while the in-process ranks ran", e);
                }
            }
        }
        if (failures.stream().allMatch(f -> f == null)) return results;
        InProcessCommunicator any = group.getFirst();
        int firstFailed = failures.indexOf(failures.stream().filter(f -> f != null).findFirst().orElseThrow());
        int root = any.failedRank().orElse(firstFailed);
        Throwable cause = failures.get(root);
        String message = any.failure().orElse("rank " + root + " failed: " + InProcessWorld.describe(cause));
        if (cause instanceof CommunicatorException c && c.getMessage().equals(message)) throw c;
        throw new CommunicatorException(message, cause);
    }
}
