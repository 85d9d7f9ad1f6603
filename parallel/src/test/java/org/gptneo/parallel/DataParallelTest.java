package org.gptneo.parallel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.gptneo.autograd.Var;
import org.gptneo.backend.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Gradient averaging, parameter broadcast and the batch split of {@link DataParallel}. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DataParallelTest {
    private static final long SMALL_BUCKETS = 9 * Float.BYTES;   // buckets of 9 (rounded to the rank count) straddle parameters

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4})
    void gradientsBecomeTheirMeanInRankOrderOnEveryRank(int ranks) {
        List<Map<String, float[]>> grads = InProcessRanks.run(ranks, c -> {
            try (Replica replica = new Replica(1); CpuBackend backend = new CpuBackend(1);
                 DataParallel dp = new DataParallel(c, backend, replica.parameters, SMALL_BUCKETS)) {
                replica.backward(backend, c.rank(), 0, null);
                dp.averageGradients();
                return snapshot(replica.parameters, true);
            }
        });
        int p = 0;
        for (String name : Replica.SHAPES.keySet()) {
            float[] got = grads.getFirst().get(name);
            for (int j = 0; j < got.length; j++) {
                float sum = Replica.gradient(0, 0, p, j);
                for (int r = 1; r < ranks; r++) sum += Replica.gradient(r, 0, p, j);
                assertThat(got[j]).as(name + "[" + j + "]").isEqualTo(sum / ranks);
            }
            p++;
        }
        for (Map<String, float[]> other : grads) assertThat(other).containsExactlyEntriesOf(grads.getFirst());
    }

    @Test
    void aParameterOnlySomeRanksReachedGetsAZeroGradientOnTheOthers() {
        List<Map<String, float[]>> grads = InProcessRanks.run(2, c -> {
            try (Replica replica = new Replica(1); CpuBackend backend = new CpuBackend(1);
                 DataParallel dp = new DataParallel(c, backend, replica.parameters, SMALL_BUCKETS)) {
                replica.backward(backend, c.rank(), 0, c.rank() == 1 ? "wte.weight" : null);   // rank 1's rows never reach wte
                assertThat(replica.parameters.get("wte.weight").grad() == null).isEqualTo(c.rank() == 1);
                dp.averageGradients();
                return snapshot(replica.parameters, true);
            }
        });
        float[] wte = grads.get(1).get("wte.weight");
        for (int j = 0; j < wte.length; j++) assertThat(wte[j]).isEqualTo(Replica.gradient(0, 0, 4, j) / 2);
        assertThat(grads.get(0)).containsExactlyEntriesOf(grads.get(1));
    }

    @Test
    void broadcastGivesEveryRankRankZerosParameters() {
        List<Map<String, float[]>> values = InProcessRanks.run(3, c -> {
            try (Replica replica = new Replica(10 + c.rank()); CpuBackend backend = new CpuBackend(1);
                 DataParallel dp = new DataParallel(c, backend, replica.parameters, SMALL_BUCKETS)) {
                dp.broadcastParameters();
                return snapshot(replica.parameters, false);
            }
        });
        try (Replica rankZero = new Replica(10)) {
            for (Map<String, float[]> v : values) assertThat(v).containsExactlyEntriesOf(snapshot(rankZero.parameters, false));
        }
    }

    @Test
    void eachRankTakesItsBlockOfTheGlobalBatch() {
        List<int[]> rows = InProcessRanks.run(4, c -> {
            try (Replica replica = new Replica(1); CpuBackend backend = new CpuBackend(1);
                 DataParallel dp = new DataParallel(c, backend, replica.parameters)) {
                return new int[] {dp.firstRow(8), dp.localRows(8)};
            }
        });
        assertThat(rows).containsExactly(new int[] {0, 2}, new int[] {2, 2}, new int[] {4, 2}, new int[] {6, 2});
        assertThatThrownBy(() -> DataParallel.rowsPerRank(6, 4))
                .hasMessage("the batch size 6 is not divisible by the data-parallel degree 4 (each rank takes batch/dp rows)");
    }

    @Test
    void bucketsCoverTheGradientBytesOnce() {
        List<long[]> sizes = InProcessRanks.run(3, c -> {
            try (Replica replica = new Replica(1); CpuBackend backend = new CpuBackend(1);
                 DataParallel dp = new DataParallel(c, backend, replica.parameters, SMALL_BUCKETS)) {
                return new long[] {dp.bucketCount(), dp.gradientBytes()};
            }
        });
        // 35 + 5 + 5 + 33 + 13 = 91 elements in buckets of 9: ten full ones and one of 1 padded to 3
        assertThat(sizes.getFirst()).containsExactly(11, (10 * 9 + 3) * Float.BYTES);
    }

    static Map<String, float[]> snapshot(Map<String, Var> parameters, boolean gradients) {
        Map<String, float[]> out = new java.util.LinkedHashMap<>();
        parameters.forEach((name, p) -> out.put(name, (gradients ? p.grad() : p.value()).toFloatArray()));
        return out;
    }
}
