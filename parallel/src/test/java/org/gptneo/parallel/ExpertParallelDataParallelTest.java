package org.gptneo.parallel;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.gptneo.model.GptNeoConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * dp = 2 × ep = 2 on four threads (rank = e + 2·d; expert-parallel groups {0, 1} and {2, 3}, the
 * ranks holding the same experts {0, 2} and {1, 3}), each rank its own 2 rows: the replicated
 * parameters are averaged over all four ranks and each expert's gradient, the sum over its
 * expert-parallel pair divided by 2, over the two ranks that hold it, so every gradient and update
 * equals those of four data-parallel replicas holding every expert (bounds as in
 * {@link ExpertParallelTest}). Averaging the experts over the wrong ranks, or with the wrong scale,
 * would miss by whole factors.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ExpertParallelDataParallelTest {

    @Test
    void expertGradientsAverageOverTheRanksHoldingThem() {
        GptNeoConfig config = ExpertParallelRun.tiny(2, 0.5f);
        List<ExpertParallelRun.Step> want = ExpertParallelRun.replicated(config, 4);
        assertEqualsReplicasOnEveryRank(ExpertParallelRun.expertParallel(config, 2, 2), want);
    }

    /**
     * Without a group of all four ranks (what the Trainer is given): the replicated gradients average over
     * the expert-parallel pair, then over the ranks holding the same experts; the same bounds, and again
     * every rank ends with the same bits.
     */
    @Test
    void averagingStepwiseOverBothGroupsIsTheMeanOverAllRanks() {
        GptNeoConfig config = ExpertParallelRun.tiny(2, 0.5f);
        List<ExpertParallelRun.Step> want = ExpertParallelRun.replicated(config, 4);
        assertEqualsReplicasOnEveryRank(ExpertParallelRun.expertParallelStepwise(config, 2, 2), want);
    }

    private static void assertEqualsReplicasOnEveryRank(List<ExpertParallelRun.Step> got, List<ExpertParallelRun.Step> want) {
        for (int r = 0; r < 4; r++) ExpertParallelTest.assertStepClose(got.get(r), want.get(r));
        for (ExpertParallelRun.Step rank : got.subList(1, 4)) {     // every rank ends with the same model, bit for bit
            got.getFirst().gradients().forEach((name, g) -> assertThat(rank.gradients().get(name)).as(name).containsExactly(g));
            got.getFirst().parameters().forEach((name, p) -> assertThat(rank.parameters().get(name)).as(name).containsExactly(p));
        }
    }
}
