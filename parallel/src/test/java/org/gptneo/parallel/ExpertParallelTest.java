package org.gptneo.parallel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.nn.RoutingStats;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Expert parallelism on 2 and 4 ranks (threads) against data-parallel replicas that hold every
 * expert, on a tiny GPT-Neo whose two layers are mixtures of 4 experts (top-1 and top-2; capacity
 * for every assignment, or a factor of 0.5 in groups of 8 tokens, which drops many), dropout on.
 * Each rank runs its own 2 rows in both runs, with the same dropout masks and the same local routing,
 * so the runs compute the same numbers and only some sums run in another order: an expert's product
 * over the rows of all ranks at once, its weight gradient summed over them before the division by ep,
 * a token's gradient gathered from its experts in one scatter-add.
 *
 * <p>One training step (forward, backward, averaging, AdamW at lr 1e-2): every rank's logits, loss,
 * aux loss, the global gradient norm and every gradient (experts gathered) agree within
 * |Δ| ≤ 2e-6·max|x| per tensor (measured at most 1.26e-6 on a replicated parameter's gradient, 1.07e-6
 * on an expert's; logits 3.7e-7, aux losses 9.5e-8); every rank's routing statistics are equal
 * (counts exactly, the aux loss within the same bound). The updated parameters agree within 2e-2·lr (measured 1.01e-2·lr): Adam's
 * first step is about lr·g/(|g| + ε), so a gradient near zero turns its rounding into a visible part
 * of a step (for the same reason a second step's gradients differ by up to 3.4e-5 of their largest
 * element, which this class does not assert).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ExpertParallelTest {
    static final double TOLERANCE = 2e-6;
    private static final double STEP_TOLERANCE = 2e-2;

    @ParameterizedTest(name = "top-{0}, ep = {1}, capacity factor {2}")
    @CsvSource({"1, 2, 4", "2, 2, 4", "1, 4, 4", "2, 4, 4", "1, 2, 0.5", "2, 2, 0.5", "1, 4, 0.5", "2, 4, 0.5"})
    void everyRankEqualsItsDataParallelReplica(int topK, int ep, float capacityFactor) {
        GptNeoConfig config = ExpertParallelRun.tiny(topK, capacityFactor);
        List<ExpertParallelRun.Step> want = ExpertParallelRun.replicated(config, ep);
        List<ExpertParallelRun.Step> got = ExpertParallelRun.expertParallel(config, 1, ep);
        long dropped = 0;
        for (int r = 0; r < ep; r++) {
            assertStepClose(got.get(r), want.get(r));
            dropped += want.get(r).routing().stream().mapToLong(RoutingStats::dropped).sum();
        }
        if (capacityFactor < 1) assertThat(dropped).as("assignments dropped by capacity").isPositive();
        else assertThat(dropped).as("assignments dropped by capacity").isZero();
    }

    /**
     * With zero gates every token picks experts 0 and 1, both held by rank 0: rank 1 receives no row,
     * its experts get zero gradients, and it still takes part in every exchange of both passes.
     */
    @ParameterizedTest(name = "top-{0}")
    @CsvSource({"1", "2"})
    void aRankWhoseExpertsReceiveNothingStillExchanges(int topK) {
        GptNeoConfig config = ExpertParallelRun.tiny(topK, 4);
        List<ExpertParallelRun.Step> want = ExpertParallelRun.replicated(config, 2, ExpertParallelRun::zeroGates);
        List<ExpertParallelRun.Step> got = ExpertParallelRun.expertParallel(config, 1, 2, ExpertParallelRun::zeroGates);
        for (int r = 0; r < 2; r++) {
            assertStepClose(got.get(r), want.get(r));
            for (RoutingStats layer : want.get(r).routing()) {
                assertThat(layer.tokensPerExpert()[2] + layer.tokensPerExpert()[3]).isZero();
            }
        }
        assertThat(got.getFirst().gradients().get("transformer.h.0.mlp.experts.3.c_fc.weight")).containsOnly(0f);
    }

    /** An inference pass (evaluation capacity, second choices all kept, nothing recorded) exchanges in its forward pass alone. */
    @Test
    void inferenceLogitsEqualTheReplicas() {
        GptNeoConfig config = ExpertParallelRun.tiny(2, 0.5f);
        List<float[]> want = ExpertParallelRun.inferenceLogits(config, 2, false);
        List<float[]> got = ExpertParallelRun.inferenceLogits(config, 2, true);
        for (int r = 0; r < 2; r++) assertClose("logits of rank " + r, got.get(r), want.get(r));
    }

    @Test
    void expertsThatDoNotSplitEvenlyAreRefused() {
        GptNeoConfig config = ExpertParallelRun.tiny(2, 4);
        List<RankThreads.Outcome<ExpertParallelModel>> outcomes = RankThreads.outcomes(InProcessCommunicator.group(3), ep -> {
            try (Backend backend = new CpuBackend(1)) {
                return ExpertParallelRun.shardOfFreshModel(config, backend, ep);
            }
        });
        for (RankThreads.Outcome<ExpertParallelModel> o : outcomes) {
            assertThat(o.failure()).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("expert parallelism over 3 ranks needs the experts to split evenly, but 4 experts % 3 = 1");
        }
    }

    @Test
    void aModelWithoutExpertsIsRefused() {
        GptNeoConfig config = TensorParallelTest.tiny().config();
        List<RankThreads.Outcome<ExpertParallelModel>> outcomes = RankThreads.outcomes(InProcessCommunicator.group(2), ep -> {
            try (Backend backend = new CpuBackend(1)) {
                return ExpertParallelRun.shardOfFreshModel(config, backend, ep);
            }
        });
        for (RankThreads.Outcome<ExpertParallelModel> o : outcomes) {
            assertThat(o.failure()).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("expert parallelism splits mixture-of-experts layers, but the model has none (use data parallelism)");
        }
    }

    /** Each rank holds the replicated parameters and its experts only; gathering gives back the full model bit for bit. */
    @Test
    void shardingThenGatheringGivesBackTheFullModel() {
        GptNeoConfig config = ExpertParallelRun.tiny(2, 4);
        List<Boolean> checked = RankThreads.run(InProcessCommunicator.group(2), ep -> {
            try (Backend backend = new CpuBackend(1); GptNeoModel full = GptNeoModel.initialize(config, backend);
                 ExpertParallelModel rank = ExpertParallelModel.shard(full, ep);
                 GptNeoModel gathered = rank.gatherFullModel()) {
                for (String name : full.registry().names()) {
                    boolean held = !ExpertParallelLayout.isExpert(name) || ExpertParallelLayout.expertOf(name) / 2 == ep.rank();
                    assertThat(rank.model().registry().contains(name)).as(name).isEqualTo(held);
                    assertThat(gathered.registry().get(name).value().toFloatArray()).as(name)
                            .containsExactly(full.registry().get(name).value().toFloatArray());
                }
                assertThat(rank.expertParameters()).hasSize(2 * 2 * 2);          // 2 layers × 2 experts × (c_fc, c_proj)
                assertThatThrownBy(() -> rank.shardOf(Map.of())).isInstanceOf(IllegalArgumentException.class)
                        .hasMessage("no tensor for parameter 'transformer.wte.weight' among the 0 given");
                try (Arena arena = Arena.ofShared()) {
                    Map<String, org.gptneo.tensor.Tensor> values = rank.gatherParameters(arena);
                    assertThat(values.keySet()).containsExactlyElementsOf(full.registry().names());
                }
                return true;
            }
        });
        assertThat(checked).containsOnly(true);
    }

    /** got equals want to float rounding after one AdamW step. */
    static void assertStepClose(ExpertParallelRun.Step got, ExpertParallelRun.Step want) {
        assertClose("logits", got.logits(), want.logits());
        assertClose("loss", new float[] {got.loss()}, new float[] {want.loss()});
        assertClose("aux loss", new float[] {got.aux()}, new float[] {want.aux()});
        assertThat(got.routing()).hasSameSizeAs(want.routing());
        for (int i = 0; i < want.routing().size(); i++) {
            RoutingStats g = got.routing().get(i), w = want.routing().get(i);
            assertThat(g.tokensPerExpert()).as("tokens per expert").containsExactly(w.tokensPerExpert());
            assertThat(g.assignments()).isEqualTo(w.assignments());
            assertThat(g.dropped()).isEqualTo(w.dropped());
            assertClose("routing aux loss", new float[] {(float) g.auxLoss()}, new float[] {(float) w.auxLoss()});
        }
        assertClose("gradient norm", new float[] {(float) got.gradientNorm()}, new float[] {(float) want.gradientNorm()});
        assertThat(got.gradients().keySet()).containsExactlyElementsOf(want.gradients().keySet());
        want.gradients().forEach((name, g) -> assertClose("gradient of " + name, got.gradients().get(name), g));
        double bound = STEP_TOLERANCE * ExpertParallelRun.ADAM.lr();
        want.parameters().forEach((name, p) -> assertWithin("updated " + name, got.parameters().get(name), p, bound));
    }

    /** |got − want| ≤ TOLERANCE·max|want| element by element. */
    static void assertClose(String what, float[] got, float[] want) {
        double scale = 0;
        for (float w : want) scale = Math.max(scale, Math.abs(w));
        assertWithin(what + " (largest element " + scale + ")", got, want, TOLERANCE * scale);
    }

    private static void assertWithin(String what, float[] got, float[] want, double bound) {
        assertThat(got).as(what).hasSameSizeAs(want);
        double worst = 0;
        for (int i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
        assertThat(worst).as(what + ": largest difference").isLessThanOrEqualTo(bound);
    }
}
