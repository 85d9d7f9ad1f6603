package org.gptneo.parallel;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.gptneo.autograd.GradientListener;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.nn.AdamW;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Gradients reduced during the backward pass ({@link DataParallel#averageDuringBackward},
 * {@link ShardedAdamW#reduceDuringBackward}) equal those reduced after it, bit for bit, and the
 * buckets go out while the pass still runs, last bucket first.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class OverlappedReductionTest {
    private static final long SMALL_BUCKETS = 9 * Float.BYTES;   // 11 or 12 buckets over the replica's 91 elements
    private static final float SCALE = 0.5f;                     // two accumulated micro-batches

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4})
    void averagingDuringBackwardEqualsAveragingAfterIt(int ranks) {
        for (String skip : new String[] {null, "wte.weight"}) {                       // wte: rank 1 never reaches it
            List<List<Map<String, float[]>>> runs = InProcessRanks.run(ranks, c -> {
                String mine = c.rank() == 1 ? skip : null;
                try (CpuBackend backend = new CpuBackend(1); Replica after = new Replica(1); Replica during = new Replica(1);
                     DataParallel dpAfter = new DataParallel(c, backend, after.parameters, SMALL_BUCKETS);
                     DataParallel dpDuring = new DataParallel(c, backend, during.parameters, SMALL_BUCKETS)) {
                    after.backwardInChain(backend, c.rank(), 0, mine, null);
                    after.parameters.values().forEach(p -> { if (p.grad() != null) backend.scale(p.grad(), SCALE); });
                    dpAfter.averageGradients();

                    OverlappedReduction reduction = dpDuring.averageDuringBackward(SCALE);
                    during.backwardInChain(backend, c.rank(), 0, mine, reduction);
                    reduction.finish();
                    dpDuring.averageGradients();                                        // only waits: already done
                    return List.of(DataParallelTest.snapshot(after.parameters, true), DataParallelTest.snapshot(during.parameters, true));
                }
            });
            for (List<Map<String, float[]>> rank : runs) {
                assertThat(rank.get(1)).as("skip " + skip).containsExactlyEntriesOf(rank.get(0));
                assertThat(rank.get(1)).containsExactlyEntriesOf(runs.getFirst().get(1));
            }
        }
    }

    @Test
    void bucketsGoOutDuringThePassLastFirst() {
        List<List<Integer>> issued = InProcessRanks.run(2, c -> {
            try (CpuBackend backend = new CpuBackend(1); Replica replica = new Replica(1);
                 DataParallel dp = new DataParallel(c, backend, replica.parameters, SMALL_BUCKETS)) {
                OverlappedReduction reduction = dp.averageDuringBackward(1f);
                List<Integer> afterEach = new ArrayList<>();                            // buckets issued after each completion
                replica.backwardInChain(backend, c.rank(), 0, null, new GradientListener() {
                    @Override
                    public void starting(List<Var> parameters) {
                        reduction.starting(parameters);
                    }

                    @Override
                    public void completed(Var parameter) {
                        reduction.completed(parameter);
                        afterEach.add(reduction.issuedDuringPass());
                    }
                });
                reduction.finish();
                return afterEach;
            }
        });
        // completion order wte, c_fc, ln_1, out_proj.bias, q_proj: elements [78, 91), [45, 78), [40, 45), [35, 40), [0, 35);
        // for 2 ranks, 12 buckets of 8: wte frees buckets 11 and 10 (9 also holds c_fc), c_fc frees 9..6 (5 holds ln_1),
        // ln_1 frees 5, out_proj.bias none (4 holds q_proj), q_proj the remaining 5
        assertThat(issued.getFirst()).containsExactly(2, 6, 7, 7, 12);
        assertThat(issued.get(1)).isEqualTo(issued.getFirst());
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3})
    void zeroOneReducingDuringBackwardStepsAsAfterIt(int ranks) {
        AdamW.Settings settings = new AdamW.Settings(1e-2f, 0.9f, 0.999f, 1e-8f, 0.1f);
        List<List<Map<String, float[]>>> runs = InProcessRanks.run(ranks, c -> {
            try (CpuBackend backend = new CpuBackend(1); Replica after = new Replica(1); Replica during = new Replica(1);
                 ShardedAdamW adamAfter = new ShardedAdamW(c, backend, after.parameters, settings, AdamW.decayExceptBiasAndNorm(), SMALL_BUCKETS);
                 ShardedAdamW adamDuring = new ShardedAdamW(c, backend, during.parameters, settings, AdamW.decayExceptBiasAndNorm(), SMALL_BUCKETS);
                 Arena arena = Arena.ofShared()) {
                for (int step = 0; step < 2; step++) {
                    zero(after, backend);
                    after.backwardInChain(backend, c.rank(), step, "h.0.ln_1.weight", null);
                    after.parameters.values().forEach(p -> { if (p.grad() != null) backend.scale(p.grad(), SCALE); });
                    double normAfter = adamAfter.reduceGradients().norm();
                    adamAfter.step();

                    zero(during, backend);
                    OverlappedReduction reduction = adamDuring.reduceDuringBackward(SCALE);
                    during.backwardInChain(backend, c.rank(), step, "h.0.ln_1.weight", reduction);
                    reduction.finish();
                    assertThat(adamDuring.reduceGradients().norm()).isEqualTo(normAfter);
                    adamDuring.step();
                }
                return List.of(DataParallelTest.snapshot(after.parameters, false), DataParallelTest.snapshot(during.parameters, false));
            }
        });
        for (List<Map<String, float[]>> rank : runs) assertThat(rank.get(1)).containsExactlyEntriesOf(rank.get(0));
    }

    private static void zero(Replica replica, Backend backend) {
        replica.parameters.values().forEach(p -> p.zeroGrad(backend));
    }
}
