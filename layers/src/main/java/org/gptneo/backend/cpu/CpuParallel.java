package org.gptneo.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs kernels on all cores. Work is cut into fixed-size pieces that depend only on the problem
 * size, never on the thread count, so a kernel that combines per-piece partial results gives the
 * same answer everywhere ({@link #forShrinkingRange}, for kernels whose results do not depend on the
 * pieces, cuts by the thread count too). A loop of one piece runs on the calling thread, and so
 * does every loop over memory that other threads may not touch (a tensor of a confined arena). The
 * calling thread claims pieces like the helpers do, so a loop always finishes, whoever else helps.
 *
 * <p>A loop is handed over by posting it in one shared slot that idle helpers poll: generation makes
 * about a hundred parallel loops per token, each a few µs long, and a hand-over through a task queue
 * cost 2-5 µs a loop against 1.2-1.6 µs this way (two threads, four pieces of about 1 µs each:
 * 4.3-7.6 µs a loop with the queue, 3.4-3.9 µs through the slot; one thread alone, 4.6 µs). A loop
 * started while the slot holds another (a loop inside a loop's body, or two threads calling
 * at once) runs on its calling thread alone.
 *
 * <p>Each {@link CpuBackend} owns one pool (its size is the backend's thread count); {@link #close()}
 * stops its threads, and helpers idle for {@link #IDLE_NANOS} end by themselves (the next loop starts
 * them again), so a backend nobody closed holds no threads for ever.
 * Use: {@code pool.over(x, out).forRange(n, grain, (from, to) -> ...)}.
 */
final class CpuParallel implements AutoCloseable {
    /** Rough element operations per piece: less would cost more in hand-over than it saves. */
    static final long MIN_PIECE_WORK = 1L << 16;

    /** A thread that is not the caller: memory it may access, the helpers may access too. */
    private static final Thread OTHER_THREAD = Thread.ofPlatform().unstarted(() -> {});
    /** Loops on the calling thread alone (immutable: shared by every pool). */
    private static final CpuParallel SERIAL = new CpuParallel(0);

    /**
     * A thread that runs out of work polls for more this long before it sleeps: waking a sleeping
     * thread costs tens of µs on a quiet machine and up to milliseconds on a busy VM, more than most of
     * generation's loops take. With 50 µs the helper of a Q8 `bench decode` slept about 1,000 times a
     * second, and the caller, done with its pieces, often slept waiting for the helper's late one; with
     * 1 ms the whole process slept 1,152 times instead of 7,077 (docs/performance.md, "Helpers that stay awake").
     */
    private static final long SPIN_NANOS = 1_000_000;

    /** Idle helper threads end after this long. */
    private static final long IDLE_NANOS = TimeUnit.SECONDS.toNanos(30);

    private final long idleNanos;
    /** The helper threads, by slot; null where none runs. Guarded by this. */
    private final Thread[] helpers;
    /** Helper threads running (read without the lock on every loop). */
    private final AtomicInteger running = new AtomicInteger();
    /** Helpers parked, waiting to be woken by the next loop. */
    private final AtomicInteger sleeping = new AtomicInteger();
    /** The loop helpers may join, or null. */
    private final AtomicReference<Job> posted = new AtomicReference<>();
    private volatile boolean closed;

    /** @param threads threads that work on a loop, the caller included (≥ 1) */
    CpuParallel(int threads) {
        this(threads, IDLE_NANOS);
    }

    /** As {@link #CpuParallel(int)}, helpers ending after {@code idleNanos} without work. */
    CpuParallel(int threads, long idleNanos) {
        this.helpers = new Thread[Math.max(0, threads - 1)];
        this.idleNanos = idleNanos;
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
        return helpers.length + 1;
    }

    /** Helper threads alive now (they end when idle; for tests). */
    int runningHelpers() {
        return running.get();
    }

    @Override
    public void close() {
        closed = true;
        synchronized (this) {
            for (Thread helper : helpers) {
                if (helper != null) LockSupport.unpark(helper);
            }
        }
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
        run(count, grain, 0, body);
    }

    /**
     * Runs {@code body} over [0, count) in pieces that shrink as the loop nears its end ("guided"
     * scheduling): each claim takes max(minGrain, remaining / (2·threads)) items. Early pieces are long,
     * and the last ones short, so a thread that falls behind (a core the VM lends to another tenant for
     * a while) holds up the loop by little; on one thread the loop is one piece. Only for bodies whose
     * results do not depend on where pieces begin and end: the pieces depend on the thread count and on
     * nothing else.
     */
    void forShrinkingRange(long count, long minGrain, Body body) {
        run(count, minGrain, 2L * threads(), body);
    }

    private void run(long count, long grain, long shrink, Body body) {
        if (grain < 1) {
            throw new IllegalArgumentException("a parallel loop's pieces need at least one item, got grain " + grain);
        }
        if (helpers.length == 0 || count <= grain) {
            if (shrink != 0) {
                if (count > 0) body.run(0, count);   // one thread: one piece
            } else {
                for (long from = 0; from < count; from += grain) body.run(from, Math.min(count, from + grain));
            }
            return;
        }
        if (closed) {
            throw new IllegalStateException("this CPU backend was closed");
        }
        Job job = new Job(count, grain, shrink, body);
        boolean shared = posted.compareAndSet(null, job);
        if (shared) {
            if (running.get() < helpers.length) startHelpers();
            if (sleeping.get() > 0) wakeHelpers();
        }
        job.work();
        if (shared) posted.set(null);   // every piece is claimed: nothing left to join
        job.awaitAndRethrow();
    }

    private synchronized void startHelpers() {
        for (int slot = 0; slot < helpers.length && !closed; slot++) {
            if (helpers[slot] == null) {
                int mine = slot;
                running.incrementAndGet();
                helpers[slot] = Thread.ofPlatform().daemon().name("gptneo-cpu-" + (slot + 1)).start(() -> help(mine));
            }
        }
    }

    private synchronized void wakeHelpers() {
        for (Thread helper : helpers) {
            if (helper != null) LockSupport.unpark(helper);
        }
    }

    /**
     * A helper's life: joins posted loops, polls {@link #SPIN_NANOS} after each (and after being woken),
     * then sleeps; ends after {@link #idleNanos} without a loop.
     */
    private void help(int slot) {
        long idleSince = System.nanoTime();
        while (!closed) {
            Job job = posted.get();
            if (job != null && job.open()) {
                job.work();
                idleSince = System.nanoTime();
            } else if (System.nanoTime() - idleSince < SPIN_NANOS) {
                Thread.onSpinWait();
            } else if (System.nanoTime() - idleSince < idleNanos) {
                sleeping.incrementAndGet();
                job = posted.get();              // posted before we counted as sleeping: its poster did not wake us
                if (job == null || !job.open()) LockSupport.parkNanos(this, idleNanos);
                sleeping.decrementAndGet();
                // woken by a loop (which its caller may have finished alone): poll again before sleeping, as
                // the next loop is likely a few µs away
                if (System.nanoTime() - idleSince < idleNanos) idleSince = System.nanoTime();
            } else if (retire(slot)) {
                return;
            }
        }
        retire(slot);
    }

    /** Ends helper {@code slot} unless a loop was posted meanwhile; true when it ended. */
    private synchronized boolean retire(int slot) {
        Job job = posted.get();
        if (!closed && job != null && job.open()) return false;
        if (helpers[slot] == Thread.currentThread()) {
            helpers[slot] = null;
            running.decrementAndGet();
        }
        return true;
    }

    /**
     * One parallel loop: pieces are claimed from a shared counter (the first item not yet claimed) by
     * whichever thread is free.
     */
    private static final class Job {
        private final long count, grain, shrink;
        private final Body body;
        private final AtomicLong next = new AtomicLong();
        /** Items whose pieces have run. */
        private final AtomicLong finished = new AtomicLong();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();
        /** The caller, once it sleeps until the last piece is done. */
        private volatile Thread waiter;

        /** @param shrink 0: pieces of {@code grain} items; else max(grain, remaining / shrink) items */
        Job(long count, long grain, long shrink, Body body) {
            this.count = count;
            this.grain = grain;
            this.shrink = shrink;
            this.body = body;
        }

        /** Whether pieces are left to claim. */
        boolean open() {
            return next.get() < count;
        }

        /** The first item of an unclaimed piece, now claimed, or -1 when none is left. */
        private long claim() {
            if (shrink == 0) {
                long from = next.getAndAdd(grain);
                return from < count ? from : -1;
            }
            for (long from; (from = next.get()) < count; ) {
                if (next.compareAndSet(from, end(from))) return from;
            }
            return -1;
        }

        /** Where the piece that starts at {@code from} ends. */
        private long end(long from) {
            long size = shrink == 0 ? grain : Math.max(grain, (count - from) / shrink);
            return Math.min(count, from + size);
        }

        /**
         * Claims and runs pieces until none is left, then counts their items as finished all at once:
         * the counters are shared between cores, and each update of one moves its cache line over.
         */
        void work() {
            long done = 0;
            try {
                for (long from; (from = claim()) >= 0; ) {
                    long to = end(from);
                    try {
                        if (failure.get() == null) body.run(from, to);
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                    done += to - from;
                }
            } finally {
                if (done > 0 && finished.addAndGet(done) == count) {
                    Thread sleeper = waiter;
                    if (sleeper != null) LockSupport.unpark(sleeper);
                }
            }
        }

        void awaitAndRethrow() {
            for (long start = System.nanoTime(); finished.get() < count && System.nanoTime() - start < SPIN_NANOS; ) {
                Thread.onSpinWait();
            }
            if (finished.get() < count) {
                waiter = Thread.currentThread();
                boolean interrupted = false;
                while (finished.get() < count) {
                    LockSupport.park(this);
                    interrupted |= Thread.interrupted();
                }
                if (interrupted) Thread.currentThread().interrupt();
            }
            Throwable t = failure.get();
            if (t instanceof RuntimeException r) throw r;
            if (t instanceof Error e) throw e;
        }
    }
}
