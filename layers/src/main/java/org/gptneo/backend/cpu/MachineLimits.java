package org.gptneo.backend.cpu;

import static org.gptneo.backend.cpu.CpuVectors.F;
import static org.gptneo.backend.cpu.CpuVectors.LE;
import static org.gptneo.backend.cpu.CpuVectors.VL;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.function.IntToDoubleFunction;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.gptneo.tensor.HugePages;

/**
 * What this machine allows, measured the same day as the benchmarks that are compared with it:
 * the FMA throughput of the vector unit (independent fused multiply-adds in registers, no memory
 * traffic) and the memory read bandwidth (every thread streams its own share of a buffer far larger
 * than the caches). Kernels are then reported as fractions of these, not of a datasheet.
 */
public final class MachineLimits {
    /** Independent accumulators: more than FMA latency × FMA ports, so the chains never wait. */
    private static final int CHAINS = 12;
    /** Buffer read by the bandwidth loop: far beyond any last-level cache. */
    private static final long READ_BYTES = 1L << 30;
    /**
     * Untimed whole runs first, after the short passes below: a thread's first run may still start in
     * a copy of the loop that is not fully optimised.
     */
    private static final int WARM_UP_RUNS = 2;
    /**
     * Each loop is first run this short, this many times, on the calling thread before any whole run:
     * until C2 compiles it, each vector it makes is an object on the heap, and a first run of the read
     * loop over the whole buffer allocated about 3 GB of them.
     */
    private static final long WARM_UP_BYTES = 4L << 20;
    private static final int WARM_UP_PASSES = 64;

    private MachineLimits() {}

    /** Peak F32 GFLOP/s of {@code threads} threads doing vector FMAs on registers (best of {@code runs}). */
    public static double fmaPeakGflops(int threads, int runs) {
        long iterations = 20_000_000;
        for (int pass = 0; pass < WARM_UP_PASSES; pass++) fmaLoop(iterations / 1000);
        double best = 0;
        for (int run = 0; run < runs + WARM_UP_RUNS; run++) {
            double seconds = timeOnAll(threads, thread -> fmaLoop(iterations));
            if (run >= WARM_UP_RUNS) best = Math.max(best, 2.0 * CHAINS * VL * iterations * threads / seconds / 1e9);
        }
        return best;
    }

    /** Memory read bandwidth in GB/s (10⁹ bytes) of {@code threads} threads together (best of {@code runs}). */
    public static double readBandwidthGbs(int threads, int runs) {
        try (Arena arena = Arena.ofShared()) {
            // zero pages from the kernel (no zeroing pass by the JDK: about 3 s for 1 GiB here), then a write
            // to every page, so that the reads find memory of their own and not the shared zero page
            MemorySegment buffer = HugePages.allocate(arena, READ_BYTES);
            buffer.fill((byte) 1);
            MemorySegment start = buffer.asSlice(0, WARM_UP_BYTES);
            for (int pass = 0; pass < WARM_UP_PASSES; pass++) readLoop(start);
            long share = READ_BYTES / threads / (VL * Float.BYTES) * (VL * Float.BYTES);
            double best = 0;
            for (int run = 0; run < runs + WARM_UP_RUNS; run++) {
                double seconds = timeOnAll(threads, thread -> readLoop(buffer.asSlice(thread * share, share)));
                if (run >= WARM_UP_RUNS) best = Math.max(best, share * threads / seconds / 1e9);
            }
            return best;
        }
    }

    /** CHAINS independent FMA chains of {@code iterations} steps; returns their sum so nothing is dead code. */
    private static double fmaLoop(long iterations) {
        FloatVector x = FloatVector.broadcast(F, 0.999999f), y = FloatVector.broadcast(F, 1e-7f);
        FloatVector a0 = y, a1 = y, a2 = y, a3 = y, a4 = y, a5 = y, a6 = y, a7 = y, a8 = y, a9 = y, a10 = y, a11 = y;
        for (long i = 0; i < iterations; i++) {
            a0 = a0.fma(x, y); a1 = a1.fma(x, y); a2 = a2.fma(x, y); a3 = a3.fma(x, y);
            a4 = a4.fma(x, y); a5 = a5.fma(x, y); a6 = a6.fma(x, y); a7 = a7.fma(x, y);
            a8 = a8.fma(x, y); a9 = a9.fma(x, y); a10 = a10.fma(x, y); a11 = a11.fma(x, y);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }

    /** Σ of the segment's floats, four vector loads in flight per step. */
    private static double readLoop(MemorySegment s) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        long step = 4L * VL * Float.BYTES, end = s.byteSize() / step * step;
        for (long at = 0; at < end; at += step) {
            a0 = a0.add(FloatVector.fromMemorySegment(F, s, at, LE));
            a1 = a1.add(FloatVector.fromMemorySegment(F, s, at + (long) VL * Float.BYTES, LE));
            a2 = a2.add(FloatVector.fromMemorySegment(F, s, at + 2L * VL * Float.BYTES, LE));
            a3 = a3.add(FloatVector.fromMemorySegment(F, s, at + 3L * VL * Float.BYTES, LE));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    }

    /** Seconds from a common start until the last of {@code threads} threads finishes {@code work}. */
    private static double timeOnAll(int threads, IntToDoubleFunction work) {
        CyclicBarrier start = new CyclicBarrier(threads + 1), done = new CyclicBarrier(threads + 1);
        double[] sink = new double[threads];
        for (int t = 0; t < threads; t++) {
            int thread = t;
            Thread.ofPlatform().daemon().start(() -> {
                await(start);
                sink[thread] = work.applyAsDouble(thread);
                await(done);
            });
        }
        await(start);
        long begin = System.nanoTime();
        await(done);
        long elapsed = System.nanoTime() - begin;
        if (Double.isNaN(sink[0])) throw new AssertionError("unreachable: keeps the work alive");
        return elapsed / 1e9;
    }

    private static void await(CyclicBarrier barrier) {
        try {
            barrier.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while measuring the machine's limits", e);
        } catch (BrokenBarrierException e) {
            throw new IllegalStateException("a measuring thread failed", e);
        }
    }
}
