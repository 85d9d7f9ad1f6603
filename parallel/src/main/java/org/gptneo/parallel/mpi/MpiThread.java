package org.gptneo.parallel.mpi;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.gptneo.parallel.CommunicatorException;

/**
 * Where MPI calls run. MPI is initialised on one dedicated platform thread; when the library provides
 * {@code MPI_THREAD_MULTIPLE}, later calls run on their caller's thread, otherwise every call is
 * handed to that thread and runs there, one at a time, in the order submitted ({@code FUNNELED} and
 * {@code SERIALIZED} allow no more).
 */
final class MpiThread {
    private final ExecutorService executor;
    private volatile Thread thread;
    private volatile boolean anyThread;

    MpiThread() {
        executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = Thread.ofPlatform().name("gptneo-mpi").daemon(true).unstarted(r);
            thread = t;
            return t;
        });
    }

    /** From now on, calls run on their callers' threads (the library provides {@code MPI_THREAD_MULTIPLE}). */
    void allowAnyThread() {
        anyThread = true;
    }

    /** Whether calls run on their callers' threads (else all on the MPI thread). */
    boolean anyThread() {
        return anyThread;
    }

    /** Runs {@code work} where MPI calls may run and returns its result; its exception is rethrown as is. */
    <T> T call(Callable<T> work) {
        if (anyThread || Thread.currentThread() == thread) {
            return here(work);
        }
        return await(executor.submit(work), 0);
    }

    /**
     * Runs {@code work} on the MPI thread (where MPI was initialised, as MPI_Finalize must be), waiting at
     * most {@code seconds} (0: no limit): a {@link CommunicatorException} when it takes longer (the work
     * goes on; the caller is about to leave the process).
     */
    <T> T callWithin(Callable<T> work, long seconds) {
        return await(executor.submit(work), seconds);
    }

    private static <T> T await(Future<T> result, long seconds) {
        try {
            return seconds == 0 ? result.get() : result.get(seconds, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new CommunicatorException("an MPI call did not return within " + seconds + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CommunicatorException("interrupted while waiting for an MPI call", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) throw r;
            if (cause instanceof Error err) throw err;
            throw new IllegalStateException(cause);
        }
    }

    private static <T> T here(Callable<T> work) {
        try {
            return work.call();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
