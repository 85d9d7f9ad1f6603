package org.gptneo.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/**
 * {@link CpuParallel}: every item once (fixed and shrinking pieces), errors passed on, loops inside loops and
 * from several threads, idle helpers.
 */
class CpuParallelTest {

    /** Counts how often each item of [0, count) was handed to a body. */
    private static AtomicIntegerArray run(CpuParallel pool, int count, long grain) {
        AtomicIntegerArray seen = new AtomicIntegerArray(count);
        pool.forRange(count, grain, (from, to) -> {
            for (long i = from; i < to; i++) seen.incrementAndGet((int) i);
        });
        return seen;
    }

    private static void assertEachOnce(AtomicIntegerArray seen) {
        for (int i = 0; i < seen.length(); i++) assertThat(seen.get(i)).as("item %d", i).isEqualTo(1);
    }

    @Test
    void everyItemIsHandedOverOnceWhateverTheThreadsAndPieces() {
        for (int threads : new int[] {1, 2, 3, 5}) {
            try (CpuParallel pool = new CpuParallel(threads)) {
                for (int count : new int[] {0, 1, 7, 64, 1000}) {
                    for (long grain : new long[] {1, 3, 64, 5000}) {
                        for (int repeat = 0; repeat < 20; repeat++) assertEachOnce(run(pool, count, grain));
                    }
                }
            }
        }
    }

    @Test
    void shrinkingPiecesHandEachItemOverOnceAndShrinkTowardsTheEnd() {
        for (int threads : new int[] {1, 2, 3}) {
            try (CpuParallel pool = new CpuParallel(threads)) {
                for (int count : new int[] {0, 1, 9, 100, 1000}) {
                    for (long minGrain : new long[] {1, 8, 2000}) {
                        AtomicIntegerArray seen = new AtomicIntegerArray(count);
                        List<long[]> pieces = Collections.synchronizedList(new ArrayList<>());
                        pool.forShrinkingRange(count, minGrain, (from, to) -> {
                            pieces.add(new long[] {from, to});
                            for (long i = from; i < to; i++) seen.incrementAndGet((int) i);
                        });
                        assertEachOnce(seen);
                        for (long[] piece : pieces) {
                            long left = count - piece[0];
                            long expected = threads == 1 ? count : Math.min(left, Math.max(minGrain, left / (2L * threads)));
                            assertThat(piece[1] - piece[0]).as("piece from %d of %d", piece[0], count).isEqualTo(expected);
                        }
                    }
                }
            }
        }
    }

    @Test
    void aPieceWithoutItemsIsRefused() {
        try (CpuParallel pool = new CpuParallel(2)) {
            assertThatThrownBy(() -> run(pool, 10, 0)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("a parallel loop's pieces need at least one item, got grain 0");
        }
    }

    @Test
    void theFirstFailureOfAPieceIsRethrownAndThePoolStaysUsable() {
        try (CpuParallel pool = new CpuParallel(2)) {
            assertThatThrownBy(() -> pool.forRange(100, 1, (from, to) -> {
                if (from == 37) throw new IllegalArgumentException("piece 37");
            })).isInstanceOf(IllegalArgumentException.class).hasMessage("piece 37");
            assertEachOnce(run(pool, 100, 1));
            assertThatThrownBy(() -> pool.forShrinkingRange(100, 1, (from, to) -> {
                if (to == 100) throw new IllegalStateException("the last piece");
            })).isInstanceOf(IllegalStateException.class).hasMessage("the last piece");
        }
    }

    @Test
    void aLoopInsideALoopsBodyFinishes() {
        try (CpuParallel pool = new CpuParallel(2)) {
            AtomicIntegerArray inner = new AtomicIntegerArray(16 * 50);
            pool.forRange(16, 1, (from, to) -> pool.forRange(50, 5, (f, t) -> {
                for (long i = f; i < t; i++) inner.incrementAndGet((int) (from * 50 + i));
            }));
            assertEachOnce(inner);
        }
    }

    @Test
    void loopsFromSeveralThreadsAtOnceEachFinish() throws Exception {
        ExecutorService callers = Executors.newFixedThreadPool(4);
        try (CpuParallel pool = new CpuParallel(2)) {
            List<Future<AtomicIntegerArray>> results = new ArrayList<>();
            for (int c = 0; c < 4; c++) {
                for (int repeat = 0; repeat < 50; repeat++) results.add(callers.submit(() -> run(pool, 333, 7)));
            }
            for (Future<AtomicIntegerArray> result : results) assertEachOnce(result.get(30, TimeUnit.SECONDS));
        } finally {
            callers.shutdownNow();
        }
    }

    @Test
    void idleHelpersEndAndTheNextLoopStartsThemAgain() throws Exception {
        try (CpuParallel pool = new CpuParallel(3, TimeUnit.MILLISECONDS.toNanos(20))) {
            assertThat(pool.runningHelpers()).as("none before the first loop").isZero();
            assertEachOnce(run(pool, 64, 1));
            assertThat(pool.runningHelpers()).isEqualTo(2);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (pool.runningHelpers() > 0 && System.nanoTime() < deadline) Thread.sleep(5);
            assertThat(pool.runningHelpers()).as("helpers idle past the limit").isZero();
            assertEachOnce(run(pool, 64, 1));
            assertThat(pool.runningHelpers()).isEqualTo(2);
        }
    }

    @Test
    void aClosedPoolRefusesParallelLoops() {
        CpuParallel pool = new CpuParallel(2);
        assertEachOnce(run(pool, 10, 1));
        pool.close();
        assertThatThrownBy(() -> run(pool, 10, 1)).isInstanceOf(IllegalStateException.class)
                .hasMessage("this CPU backend was closed");
        assertEachOnce(run(pool, 1, 1));   // a loop of one piece needs no helper
    }
}
