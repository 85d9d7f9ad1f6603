package org.gptneo.cuda;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The one platform thread that talks to a device: the CUDA runtime's current device, and the
 * stream and cuBLAS handle, belong to a host thread, so every call for a device runs here, in order.
 * A call from this thread itself runs at once (kernels call kernels).
 */
final class DeviceThread implements AutoCloseable {
    private final ExecutorService executor;
    private volatile Thread thread;

    DeviceThread(String name) {
        this.executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = Thread.ofPlatform().name(name).daemon(true).unstarted(r);
            thread = t;
            return t;
        });
    }

    /** Runs {@code work} on the device thread and returns its result; its exception is rethrown as is. */
    <T> T call(Callable<T> work) {
        if (Thread.currentThread() == thread) {
            return callHere(work);
        }
        Future<T> result = executor.submit(work);
        try {
            return result.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the GPU", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) throw r;
            if (cause instanceof Error err) throw err;
            throw new IllegalStateException(cause);
        }
    }

    void run(Runnable work) {
        call(() -> {
            work.run();
            return null;
        });
    }

    /** Queues {@code work} without waiting (frees from arena cleanups); dropped after {@link #close}. */
    void post(Runnable work) {
        if (!executor.isShutdown()) {
            try {
                executor.execute(work);
            } catch (java.util.concurrent.RejectedExecutionException closing) {
                // the device is closing: its memory goes with it
            }
        }
    }

    @Override
    public void close() {
        executor.shutdown();
    }

    private static <T> T callHere(Callable<T> work) {
        try {
            return work.call();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
