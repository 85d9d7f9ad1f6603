package org.gptneo.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs kernels on all cores. Work is cut into fixed-size pieces that depend only on the problem
 * size, never on the thread count, so a kernel that combines per-piece partial results gives the
 * same answer everywhere. A loop of one piece runs on the calling thread, and so does every loop
 * over memory that other threads may not touch (a tensor of a confined arena). The calling thread
 * claims pieces like the helpers do, so a kernel called from inside another one cannot deadlock.
 *
 * <p>Each {@link CpuBackend} owns one pool (its size is the backend's thread count); {@link #close()}
 * stops its threads. Use: {@code pool.over(x, out).forRange(n, grain, (from, to) -> ...)}.
 */
final class CpuParallel implements AutoCloseable {
    /** Rough element operations per piece: less would cost more in hand-over than it saves. */
    static final long MIN_PIECE_WORK = 1L << 16;

    /** A thread that is not the caller: memory it may access, the helpers may access too. */
    private static final Thread OTHER_THREAD = Thread.ofPlatform().unstarted(() -> {});
    /** Loops on the calling thread alone (immutable: shared by every pool). */
    private static final CpuParallel SERIAL = new CpuParallel(0);

    /**
     * A thread that runs out of work polls for more this long before it sleeps: generation makes a
     * few hundred small parallel loops per token, and waking a sleeping thread costs tens of µs.
     */
    private static final long SPIN_NANOS = 50_000;

    /** Idle helper threads end after this long (a backend nobody closed holds no threads for ever). */
    private static final long IDLE_SECONDS = 30;

    private final int helpers;
    private final ThreadPoolExecutor pool;

    /** @param threads threads that work on a loop, the caller included (≥ 1) */
    CpuParallel(int threads) {
        this.helpers = Math.max(0, threads - 1);
        if (helpers > 0) {
            pool = new ThreadPoolExecutor(helpers, helpers, IDLE_SECONDS, TimeUnit.SECONDS, new SpinningQueue<>(),
                    Thread.ofPlatform().daemon().name("gptneo-cpu-", 1).factory());
            pool.allowCoreThreadTimeOut(true);
        } else {
            pool = null;
        }
    }

    /** The body of a parallel loop: handles items [from, to). */
    @FunctionalInterface
    interface Body {
        void run(long from, long to);
    }

    /** Parallel loops over {@code data}: on the calling thread alone when any of it is confined to it. */
    CpuParallel over(MemorySegment... data) {
        for (MemorySegment segment : data) {
            if (!segment.isAccessibleBy(OTHER_THREAD)) return SERIAL;
        }
        return this;
    }

    /** Threads that work on a parallel loop: the helpers and the caller. */
    int threads() {
        return helpers + 1;
    }

    @Override
    public void close() {
        if (pool != null) pool.shutdown();
    }

    /** Items per piece so that a piece does about {@link #MIN_PIECE_WORK} when one item costs {@code workPerItem}. */
    static long grain(long workPerItem) {
        return Math.max(1, MIN_PIECE_WORK / Math.max(1, workPerItem));
    }

    /**
     * Runs {@code body} over [0, count) in pieces [i·grain, (i + 1)·grain), spread over the pool when
     * there is more than one piece. Rethrows the first exception a piece threw.
     */
    void forRange(long count, long grain, Body body) {
        long pieces = Math.ceilDiv(count, grain);
        if (helpers == 0 || pieces <= 1) {
            for (long piece = 0; piece < pieces; piece++) body.run(piece * grain, Math.min(count, (piece + 1) * grain));
            return;
        }
        if (pool.isShutdown()) {
            throw new IllegalStateException("this CPU backend was closed");
        }
        Job job = new Job(count, grain, pieces, body);
        for (long i = 0; i < Math.min(helpers, pieces - 1); i++) {
            pool.execute(job::work);
        }
        job.work();
        job.awaitAndRethrow();
    }

    /** One parallel loop: pieces are claimed from a shared counter by whichever thread is free. */
    private static final class Job {
        private final long count, grain, pieces;
        private final Body body;
        private final AtomicLong next = new AtomicLong();
        private final AtomicLong finished = new AtomicLong();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        Job(long count, long grain, long pieces, Body body) {
            this.count = count;
            this.grain = grain;
            this.pieces = pieces;
            this.body = body;
        }

        /**
         * Claims and runs pieces until none is left, then counts them as finished all at once: the
         * counters are shared between cores, and each update of one moves its cache line over.
         */
        void work() {
            long done = 0;
            try {
                for (long piece; (piece = next.getAndIncrement()) < pieces; done++) {
                    try {
                        if (failure.get() == null) {
                            body.run(piece * grain, Math.min(count, (piece + 1) * grain));
                        }
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                }
            } finally {
                if (done > 0 && finished.addAndGet(done) == pieces) {
                    synchronized (this) {
                        notifyAll();
                    }
                }
            }
        }

        void awaitAndRethrow() {
            for (long start = System.nanoTime(); finished.get() < pieces && System.nanoTime() - start < SPIN_NANOS; ) {
                Thread.onSpinWait();
            }
            boolean interrupted = false;
            synchronized (this) {
                while (finished.get() < pieces) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            }
            if (interrupted) Thread.currentThread().interrupt();
            Throwable t = failure.get();
            if (t instanceof RuntimeException r) throw r;
            if (t instanceof Error e) throw e;
        }
    }

    /** A task queue whose takers poll for {@link #SPIN_NANOS} before they block. */
    private static final class SpinningQueue<E> extends LinkedBlockingQueue<E> {
        @Override
        public E take() throws InterruptedException {
            E e = spin();
            return e != null ? e : super.take();
        }

        @Override
        public E poll(long timeout, TimeUnit unit) throws InterruptedException {
            E e = spin();
            return e != null ? e : super.poll(timeout, unit);
        }

        private E spin() {
            for (long start = System.nanoTime(); System.nanoTime() - start < SPIN_NANOS; ) {
                E e = poll();
                if (e != null) return e;
                Thread.onSpinWait();
            }
            return null;
        }
    }
}
