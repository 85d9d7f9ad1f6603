package org.gptneo.parallel;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.nn.AdamW;
import org.gptneo.nn.GradientClipping;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * ZeRO-1 against AdamW on the averaged gradients: the same parameters and moments bit for bit
 * (AdamW is element-wise, and both average in rank order), whatever the buckets and rank count.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ShardedAdamWTest {
    private static final AdamW.Settings SETTINGS = new AdamW.Settings(1e-2f, 0.9f, 0.999f, 1e-8f, 0.1f);
    private static final int STEPS = 3;

    /** What a run ends with: parameters, moments (m then v, by name), the norms each step measured. */
    private record State(Map<String, float[]> parameters, Map<String, float[]> moments, List<Double> norms) {}

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void matchesAdamWOnTheAveragedGradientsBitForBit(int ranks) {
        State expected = replicated(ranks);
        List<State> sharded = InProcessRanks.run(ranks, c -> {
            try (Replica replica = new Replica(1); CpuBackend backend = new CpuBackend(1);
                 ShardedAdamW adam = new ShardedAdamW(c, backend, replica.parameters, SETTINGS, AdamW.decayExceptBiasAndNorm(), 9 * Float.BYTES);
                 Arena arena = Arena.ofShared()) {
                List<Double> norms = new java.util.ArrayList<>();
                for (int step = 0; step < STEPS; step++) {
                    replica.parameters.values().forEach(p -> p.zeroGrad(backend));
                    replica.backward(backend, c.rank(), step, "h.0.ln_1.weight");   // no rank reaches it: AdamW skips it
                    GradientClipping.Report report = adam.reduceGradients();
                    norms.add(report.norm());
                    adam.step();
                }
                assertThat(adam.stepCount()).isEqualTo(STEPS);
                return new State(DataParallelTest.snapshot(replica.parameters, false), moments(adam.gatherMoments(arena)), norms);
            }
        });
        for (State s : sharded) {
            assertThat(s.parameters()).containsExactlyEntriesOf(expected.parameters());
            assertThat(s.moments()).containsExactlyEntriesOf(expected.moments());
            for (int i = 0; i < STEPS; i++) assertThat(s.norms().get(i)).isCloseTo(expected.norms().get(i), org.assertj.core.data.Percentage.withPercentage(1e-4));
        }
    }

    @Test
    void restoreFromFullMomentsContinuesAsTheUnshardedOptimizer() {
        State expected = replicated(2);
        List<State> resumed = InProcessRanks.run(2, c -> {
            try (Replica replica = new Replica(1); CpuBackend backend = new CpuBackend(1); Arena arena = Arena.ofShared();
                 AdamW plain = new AdamW(backend, replica.parameters, SETTINGS, AdamW.decayExceptBiasAndNorm());
                 ShardedAdamW adam = new ShardedAdamW(c, backend, replica.parameters, SETTINGS, AdamW.decayExceptBiasAndNorm(), 9 * Float.BYTES)) {
                // step 1 with the unsharded optimizer on the averaged gradients (both ranks alike), then hand over
                replica.backward(backend, 0, 0, "h.0.ln_1.weight");
                averagedInto(replica, backend, 2, 0);
                plain.step();
                adam.restore(plain.stepCount(), plain.moments());
                for (int step = 1; step < STEPS; step++) {
                    replica.parameters.values().forEach(p -> p.zeroGrad(backend));
                    replica.backward(backend, c.rank(), step, "h.0.ln_1.weight");
                    adam.reduceGradients();
                    adam.step();
                }
                return new State(DataParallelTest.snapshot(replica.parameters, false), moments(adam.gatherMoments(arena)), List.of());
            }
        });
        for (State s : resumed) {
            assertThat(s.parameters()).containsExactlyEntriesOf(expected.parameters());
            assertThat(s.moments()).containsExactlyEntriesOf(expected.moments());
        }
    }

    @Test
    void keepsTheMomentsOfItsBlocksOnly() {
        List<Long> shards = InProcessRanks.run(3, c -> {
            try (Replica replica = new Replica(1); CpuBackend backend = new CpuBackend(1);
                 ShardedAdamW adam = new ShardedAdamW(c, backend, replica.parameters, SETTINGS, AdamW.decayExceptBiasAndNorm(), 9 * Float.BYTES)) {
                return adam.shardElements();
            }
        });
        assertThat(shards).containsOnly((10 * 9 + 3) / 3L);   // 91 elements in buckets of 9, padded: 31 per rank
    }

    /** AdamW in one process on the rank-order mean of {@code ranks} ranks' gradients. */
    private static State replicated(int ranks) {
        try (Replica replica = new Replica(1); CpuBackend backend = new CpuBackend(1);
             AdamW adam = new AdamW(backend, replica.parameters, SETTINGS, AdamW.decayExceptBiasAndNorm())) {
            List<Double> norms = new java.util.ArrayList<>();
            for (int step = 0; step < STEPS; step++) {
                replica.parameters.values().forEach(p -> p.zeroGrad(backend));
                replica.backward(backend, 0, step, "h.0.ln_1.weight");
                averagedInto(replica, backend, ranks, step);
                norms.add(GradientClipping.inspect(backend, replica.parameters).norm());
                adam.step();
            }
            return new State(DataParallelTest.snapshot(replica.parameters, false), moments(adam.moments()), norms);
        }
    }

    /** Overwrites the gradients (set for rank 0) with the rank-order mean of {@code ranks} ranks' gradients at {@code step}. */
    private static void averagedInto(Replica replica, CpuBackend backend, int ranks, int step) {
        int p = 0;
        for (Map.Entry<String, org.gptneo.autograd.Var> e : replica.parameters.entrySet()) {
            if (e.getValue().grad() != null) {
                for (long j = 0; j < e.getValue().grad().size(); j++) {
                    float sum = Replica.gradient(0, step, p, j);
                    for (int r = 1; r < ranks; r++) sum += Replica.gradient(r, step, p, j);
                    e.getValue().grad().setFloat(j, sum / ranks);
                }
                p++;
            }
        }
    }

    private static Map<String, float[]> moments(Map<String, AdamW.Moments> moments) {
        Map<String, float[]> out = new LinkedHashMap<>();
        moments.forEach((name, m) -> {
            out.put(name + ".exp_avg", m.m().toFloatArray());
            out.put(name + ".exp_avg_sq", m.v().toFloatArray());
        });
        return out;
    }
}
