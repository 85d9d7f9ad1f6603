package org.gptneo.nn;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Dispatch cost follows top-k, not E: the rows that the experts' c_fc products see in the forward
 * pass, counted on the backend, equal the kept assignments: N·topK with room for every token, the
 * same for 4 and 32 experts; with drops, the kept ones only.
 */
class MixtureOfExpertsCostTest {
    private static final int N = 96, C = 8, H = 24;

    @ParameterizedTest(name = "top-{0}, eval capacity factor {1}")
    @CsvSource({"1, 100", "2, 100", "2, 1.0"})
    void expertRowsAreTheKeptAssignmentsWhateverTheExpertCount(int topK, float factor) {
        long[] rows = new long[2];
        int[] experts = {4, 32};
        for (int i = 0; i < experts.length; i++) {
            Random random = new Random(8);
            MoeFixture.Weights weights = MoeFixture.randomWeights(random, experts[i], C, H, 1f, 0.5f);
            float[] x = MoeFixture.gaussian(random, N * C, 1f);
            MoeSettings s = MoeFixture.settings(experts[i], topK, "relu", 1.25f, factor, 32,
                    SecondExpertPolicy.RANDOM, SecondExpertPolicy.ALL);
            AtomicLong expertRows = new AtomicLong();
            try (CpuBackend cpu = new CpuBackend(2)) {
                Backend counting = countingExpertRows(cpu, expertRows);
                MoeFixture.Result r = MoeFixture.run(counting, s, weights, x, new float[N * C], false, 0, 0);
                long kept = Arrays.stream(r.stats().tokensPerExpert()).sum();
                assertThat(kept).isEqualTo(r.stats().assignments() - r.stats().dropped());
                assertThat(expertRows.get()).as("%d experts", experts[i]).isEqualTo(kept);
                rows[i] = kept;
                if (factor > 10) assertThat(kept).isEqualTo((long) N * topK);
                else assertThat(r.stats().dropped()).isPositive();
            }
        }
        if (factor > 10) assertThat(rows[1]).isEqualTo(rows[0]);
    }

    /**
     * {@code cpu}, counting the rows of forward products x·W_fcᵀ: A [M, C] times a transposed B
     * [H, C] into [M, H]. The gate's product has B [E, C] and the backward ones other layouts.
     */
    private static Backend countingExpertRows(CpuBackend cpu, AtomicLong rows) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (self, method, args) -> {
                    if (method.getName().equals("matmul") && !(boolean) args[1] && (boolean) args[3]) {
                        Tensor a = (Tensor) args[0], b = (Tensor) args[2];
                        if (b.rank() == 2 && b.dim(0) == H && b.dim(1) == C && a.dim(-1) == C) rows.addAndGet(a.dim(0));
                    }
                    try {
                        return method.invoke(cpu, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }
}
