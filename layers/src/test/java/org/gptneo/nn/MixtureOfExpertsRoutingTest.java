package org.gptneo.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.util.Random;
import org.gptneo.backend.DropoutHash;
import org.gptneo.backend.cpu.CpuBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/** Routing as the contract fixes it: dense equivalence, capacity drops, groups, top-k and the second-expert policies. */
class MixtureOfExpertsRoutingTest {
    private static final CpuBackend CPU = new CpuBackend(2);
    private static final int C = 4, E = 4, H = 6;

    @AfterAll
    static void close() {
        CPU.close();
    }

    @ParameterizedTest(name = "top-{0}, {1}")
    @CsvSource({"1, relu", "2, relu", "1, gelu_new", "2, gelu_new"})
    void withCapacityForEveryTokenItIsTheDenseTopKMixture(int topK, String activation) {
        Random random = new Random(11);
        int n = 37;
        MoeFixture.Weights weights = MoeFixture.randomWeights(random, E, C, H, 1f, 0.5f);
        float[] x = MoeFixture.gaussian(random, n * C, 1f);
        MoeSettings s = MoeFixture.settings(E, topK, activation, 1.25f, 100f, 16, SecondExpertPolicy.RANDOM, SecondExpertPolicy.ALL);
        MoeFixture.Result r = MoeFixture.run(CPU, s, weights, x, new float[n * C], false, 0, 0);

        double[] dense = new double[n * C];
        for (int t = 0; t < n; t++) {
            double[] p = MoeFixture.probs(weights, x, t);
            int first = argmax(p, -1), second = argmax(p, first);
            double g1 = topK == 1 ? p[first] : p[first] / (p[first] + p[second] + 1e-9);
            double g2 = p[second] / (p[first] + p[second] + 1e-9);
            for (int e = 0; e < E; e++) {                    // every expert on every token, weighted or zero
                double g = e == first ? g1 : topK == 2 && e == second ? g2 : 0;
                double[] out = MoeFixture.expert(weights, e, x, t, activation);
                for (int i = 0; i < C; i++) dense[t * C + i] += g * out[i];
            }
        }
        assertThat(MoeFixture.relativeError(r.y(), dense)).isLessThanOrEqualTo(1e-5);
        assertThat(r.stats().dropped()).isZero();
        assertThat(r.stats().assignments()).isEqualTo((long) n * topK);
    }

    /**
     * Eight tokens in one group, capacity 2 per expert (⌊8·1.0/4⌋). Tokens 0–4 put their first choice on
     * expert 0: tokens 2, 3, 4 are dropped there. Second choices queue after all first choices of
     * their expert: token 0's second (expert 1) sits behind token 5's first, token 3's second is the
     * third on expert 1 and dropped, token 5's second (expert 0, with five first choices) too.
     */
    @Test
    void overCapacityDropsExactlyTheContractsAssignments() {
        int[][] choices = {{0, 1}, {0, 2}, {0, 3}, {0, 1}, {0, 2}, {1, 0}, {2, 3}, {3, 1}};
        int n = choices.length;
        float[] x = new float[n * C];
        for (int t = 0; t < n; t++) {
            x[t * C + choices[t][0]] = 3f;
            x[t * C + choices[t][1]] = 2f;
        }
        float[] gate = new float[E * C];
        for (int e = 0; e < E; e++) gate[e * C + e] = 1f;            // logits = x
        Random random = new Random(5);
        MoeFixture.Weights random4 = MoeFixture.randomWeights(random, E, C, H, 1f, 0.7f);
        MoeFixture.Weights weights = new MoeFixture.Weights(C, H, gate, random4.fc(), random4.proj());
        MoeSettings s = MoeFixture.settings(E, 2, "relu", 1.25f, 1.0f, 8, SecondExpertPolicy.RANDOM, SecondExpertPolicy.ALL);
        MoeFixture.Result r = MoeFixture.run(CPU, s, weights, x, new float[n * C], false, 0, 0);

        boolean[][] kept = { // per token: first kept, second kept
                {true, true}, {true, true}, {false, true}, {false, false}, {false, false}, {true, false}, {true, false}, {true, false}};
        double[] expected = new double[n * C];
        for (int t = 0; t < n; t++) {
            double[] p = MoeFixture.probs(weights, x, t);
            double sum = p[choices[t][0]] + p[choices[t][1]] + 1e-9;
            for (int j = 0; j < 2; j++) {
                if (!kept[t][j]) continue;
                double[] out = MoeFixture.expert(weights, choices[t][j], x, t, "relu");
                for (int i = 0; i < C; i++) expected[t * C + i] += p[choices[t][j]] / sum * out[i];
            }
        }
        assertThat(MoeFixture.relativeError(r.y(), expected)).isLessThanOrEqualTo(1e-5);
        for (int t : new int[] {3, 4}) {
            for (int i = 0; i < C; i++) assertThat(r.y()[t * C + i]).as("token %d, both choices dropped", t).isZero();
        }
        assertThat(r.stats().tokensPerExpert()).containsExactly(2, 2, 2, 2);
        assertThat(r.stats().assignments()).isEqualTo(16);
        assertThat(r.stats().dropped()).isEqualTo(8);
        assertThat(r.stats().dropRate()).isEqualTo(0.5);
    }

    /**
     * Ten tokens in groups of 4, 4 and 2, every first choice on expert 0, top-1: capacity is 1 in each
     * group (⌊4·1.0/4⌋ and max(1, ⌊2·1.0/4⌋)), so exactly tokens 0, 4 and 8 are kept. The aux loss is
     * the plain mean of the three groups' E·density·proxy, not weighted by the shorter group's size.
     */
    @Test
    void groupsHaveTheirOwnCapacityAndThePlainMeanAuxLoss() {
        int n = 10;
        float[] x = new float[n * C];
        for (int t = 0; t < n; t++) {
            x[t * C] = t < 8 ? 1f + 0.1f * t : 4f;                     // the last group is much surer of expert 0
            x[t * C + 1 + t % 3] = 0.5f;
        }
        float[] gate = new float[E * C];
        for (int e = 0; e < E; e++) gate[e * C + e] = 1f;
        MoeFixture.Weights random = MoeFixture.randomWeights(new Random(3), E, C, H, 1f, 0.7f);
        MoeFixture.Weights weights = new MoeFixture.Weights(C, H, gate, random.fc(), random.proj());
        MoeSettings s = MoeFixture.settings(E, 1, "relu", 1.25f, 1.0f, 4, SecondExpertPolicy.RANDOM, SecondExpertPolicy.ALL);
        MoeFixture.Result r = MoeFixture.run(CPU, s, weights, x, new float[n * C], false, 0, 0);

        for (int t = 0; t < n; t++) {
            boolean keptToken = t == 0 || t == 4 || t == 8;
            double norm = 0;
            for (int i = 0; i < C; i++) norm += Math.abs(r.y()[t * C + i]);
            assertThat(norm > 0).as("token %d kept", t).isEqualTo(keptToken);
        }
        assertThat(r.stats().tokensPerExpert()).containsExactly(3, 0, 0, 0);
        assertThat(r.stats().dropped()).isEqualTo(7);

        double[] groupAux = new double[3];
        double weighted = 0;
        for (int g = 0; g < 3; g++) {
            int from = 4 * g, to = Math.min(n, from + 4);
            double proxy = 0;
            for (int t = from; t < to; t++) proxy += MoeFixture.probs(weights, x, t)[0];
            groupAux[g] = E * 1.0 * proxy / (to - from);              // density[0] = 1, the others 0
            weighted += groupAux[g] * (to - from) / n;
        }
        double plain = (groupAux[0] + groupAux[1] + groupAux[2]) / 3;
        assertThat(Math.abs(plain - weighted)).as("the fixture tells the two means apart").isGreaterThan(1e-2);
        assertThat(r.stats().auxLoss()).isCloseTo(plain, within(1e-6));
        assertThat((double) r.aux()).isCloseTo(0.01 * plain, within(1e-8));
    }

    @ParameterizedTest
    @EnumSource(SecondExpertPolicy.class)
    void eachPolicyKeepsTheSecondChoicesItShould(SecondExpertPolicy policy) {
        Random random = new Random(17);
        int n = 64, layer = 2;
        long seed = 99;
        MoeFixture.Weights weights = MoeFixture.randomWeights(random, E, C, H, 1.5f, 0.5f);
        float[] x = MoeFixture.gaussian(random, n * C, 1f);
        MoeSettings s = MoeFixture.settings(E, 2, "relu", 100f, 100f, 64, policy, SecondExpertPolicy.ALL);
        MoeFixture.Result r = MoeFixture.run(CPU, s, weights, x, new float[n * C], true, seed, layer);

        int seconds = 0;
        double[] expected = new double[n * C];
        for (int t = 0; t < n; t++) {
            double[] p = MoeFixture.probs(weights, x, t);
            int first = argmax(p, -1), second = argmax(p, first);
            double sum = p[first] + p[second] + 1e-9, g2 = p[second] / sum;
            boolean keep = switch (policy) {
                case ALL -> true;
                case NONE -> false;
                case THRESHOLD -> g2 > 0.2;
                case RANDOM -> DropoutHash.uniform(seed * 0x9E3779B97F4A7C15L - (layer + 1), t) < g2 / 0.2;
            };
            if (keep) seconds++;
            add(expected, t, p[first] / sum, MoeFixture.expert(weights, first, x, t, "relu"));   // renormalised always
            if (keep) add(expected, t, g2, MoeFixture.expert(weights, second, x, t, "relu"));
        }
        assertThat(r.stats().assignments()).isEqualTo(n + seconds);
        assertThat(MoeFixture.relativeError(r.y(), expected)).isLessThanOrEqualTo(1e-5);
        if (policy == SecondExpertPolicy.THRESHOLD || policy == SecondExpertPolicy.RANDOM) {
            assertThat(seconds).as("the fixture has second choices kept and not kept").isStrictlyBetween(0, n);
        }
    }

    @Test
    void theRandomPolicyIsDeterministicPerSeedAndNeverUsedWithoutTraining() {
        Random random = new Random(23);
        int n = 64;
        MoeFixture.Weights weights = MoeFixture.randomWeights(random, E, C, H, 1.5f, 0.5f);
        float[] x = MoeFixture.gaussian(random, n * C, 1f);
        MoeSettings s = MoeFixture.settings(E, 2, "relu", 100f, 100f, 64, SecondExpertPolicy.RANDOM, SecondExpertPolicy.ALL);

        MoeFixture.Result a = MoeFixture.run(CPU, s, weights, x, new float[n * C], true, 7, 1);
        MoeFixture.Result again = MoeFixture.run(CPU, s, weights, x, new float[n * C], true, 7, 1);
        MoeFixture.Result otherSeed = MoeFixture.run(CPU, s, weights, x, new float[n * C], true, 8, 1);
        assertThat(again.y()).containsExactly(a.y());
        assertThat(otherSeed.y()).isNotEqualTo(a.y());
        assertThat(a.stats().assignments()).isLessThan(2L * n);

        for (long seed : new long[] {7, 8}) {                          // inference: the eval policy "all"
            MoeFixture.Result eval = MoeFixture.run(CPU, s, weights, x, new float[n * C], false, seed, 1);
            assertThat(eval.stats().assignments()).isEqualTo(2L * n);
        }
    }

    @Test
    void badSettingsAreRefusedInOneLine() {
        MoeFixture.Weights weights = MoeFixture.randomWeights(new Random(1), 2, C, H, 1f, 1f);
        try (Arena arena = Arena.ofShared()) {
            assertThatThrownBy(() -> MoeFixture.layer(CPU, arena,
                            MoeFixture.settings(2, 3, "relu", 1f, 1f, 4, SecondExpertPolicy.ALL, SecondExpertPolicy.ALL), weights, 0))
                    .hasMessage("moe_top_k must be 1 or 2, got 3");
            assertThatThrownBy(() -> MoeFixture.layer(CPU, arena,
                            MoeFixture.settings(1, 2, "relu", 1f, 1f, 4, SecondExpertPolicy.ALL, SecondExpertPolicy.ALL), weights, 0))
                    .hasMessage("moe_top_k 2 exceeds moe_num_experts 1");
            assertThatThrownBy(() -> MoeFixture.layer(CPU, arena,
                            MoeFixture.settings(2, 1, "tanh", 1f, 1f, 4, SecondExpertPolicy.ALL, SecondExpertPolicy.ALL), weights, 0))
                    .hasMessage("moe_activation 'tanh' is not one of relu, gelu_new");
            assertThatThrownBy(() -> MoeFixture.layer(CPU, arena,
                            MoeFixture.settings(2, 2, "relu", 1f, 1f, 4, SecondExpertPolicy.ALL, SecondExpertPolicy.RANDOM), weights, 0))
                    .hasMessage("moe_second_policy_eval cannot be random: a training-only policy");
        }
    }

    private static void add(double[] y, int t, double g, double[] out) {
        for (int i = 0; i < C; i++) y[t * C + i] += g * out[i];
    }

    private static int argmax(double[] p, int excluded) {
        int best = -1;
        for (int e = 0; e < p.length; e++) if (e != excluded && (best < 0 || p[e] > p[best])) best = e;
        return best;
    }
}
