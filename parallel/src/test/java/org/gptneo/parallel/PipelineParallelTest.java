package org.gptneo.parallel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.gptneo.parallel.PipelineFixture.Run;
import static org.gptneo.parallel.PipelineFixture.pipeline;
import static org.gptneo.parallel.PipelineFixture.singleDevice;
import static org.gptneo.parallel.PipelineFixture.tiny;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.GptNeoModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A pipeline of p in-process ranks computes what one device computes for the same global batch of
 * m micro-batches [2, 8] of a tiny GPT-Neo (4 layers, global and local attention, dropout 0.1).
 *
 * <p>Against one device's gradient accumulation over the same micro-batches (the Trainer's: each
 * micro-batch's mean loss backward, gradients summed, then divided by m; same dropout masks), the
 * first step's loss and every gradient but the tied embedding's are equal bit for bit: every stage
 * runs the same operations in the same order. The tied embedding's gradient is the head's part (last
 * stage) plus the lookup's (first stage), summed by the all-reduce instead of accumulated into one
 * buffer during the backward pass: the same terms in another order, so it may differ by a few float
 * ulps, bounded here by 1e-6 of the largest element. After three AdamW steps the weights, losses
 * and (gathered) moments carry those ulps forward: within 2e-6 (weights of size ~0.1 to 1), 1e-6
 * relative, and 1e-5 of each moment's largest element (the second moment squares the gradients).
 *
 * <p>Against one forward pass over the whole batch [m·2, 8] (dropout off: masks depend on shapes),
 * whose loss is the mean over all m·2·7 predicted tokens: every micro-batch predicts the same number
 * of tokens, so the mean of the micro-batch means is that mean mathematically; float32 sums in other
 * orders (the whole batch's weight gradients in one product, the loss in one reduction) leave
 * differences of about 4e-7 of each gradient's largest element, bounded here by 5e-6.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class PipelineParallelTest {
    private static final String WTE = "transformer.wte.weight";

    @ParameterizedTest(name = "{0} stages, {1} micro-batches")
    @CsvSource({"1, 2", "2, 1", "2, 2", "2, 4", "4, 1", "4, 2", "4, 4"})
    void aStepEqualsGradientAccumulationOnOneDevice(int stages, int m) {
        int steps = 3;
        Run one = singleDevice(tiny(0.1f), m, steps, false);
        List<Run> ranks = pipeline(tiny(0.1f), stages, m, steps, PipelineSchedule.ONE_F_ONE_B);
        for (Run rank : ranks) {
            assertThat(rank.losses()[0]).as("every rank reports the first step's loss").isEqualTo(one.losses()[0]);
            for (int step = 1; step < steps; step++) {
                assertThat(rank.losses()[step]).as("step %d", step).isCloseTo(one.losses()[step], within(1e-6 * one.losses()[step]));
            }
            assertThat(rank.norm()).isCloseTo(one.norm(), within(1e-7 * one.norm()));
        }
        assertThat(ranks.getFirst().losses()).containsExactly(ranks.getLast().losses());
        Map<String, float[]> gradients = new HashMap<>();
        ranks.forEach(r -> gradients.putAll(r.gradients()));
        assertThat(gradients.keySet()).containsExactlyInAnyOrderElementsOf(one.gradients().keySet());
        for (Run rank : ranks) {
            rank.gradients().forEach((name, g) -> {
                float[] want = one.gradients().get(name);
                if (name.equals(WTE) && stages > 1) {
                    assertThat(g).as(name).containsExactly(want, within((float) (1e-6 * maxAbs(want))));
                } else {
                    assertThat(g).as("%s, bit for bit", name).isEqualTo(want);
                }
            });
        }
        assertThat(ranks.getLast().gradients().get(WTE)).as("both copies of wte get the same gradient")
                .isEqualTo(ranks.getFirst().gradients().get(WTE));
        Map<String, float[]> gathered = ranks.getFirst().weights();
        assertThat(gathered.keySet()).as("the gathered model is the whole model").containsExactlyElementsOf(one.weights().keySet());
        gathered.forEach((name, w) -> assertThat(w).as(name).containsExactly(one.weights().get(name), within(2e-6f)));
        assertThat(ranks.getLast().weights().get(WTE)).as("after AdamW steps both copies of wte are equal")
                .isEqualTo(gathered.get(WTE));
        Map<String, float[]> moments = ranks.getFirst().moments();
        assertThat(moments.keySet()).as("the gathered optimizer state is one device's").containsExactlyElementsOf(one.moments().keySet());
        moments.forEach((key, x) -> assertThat(x).as(key).containsExactly(one.moments().get(key),
                within((float) (1e-5 * maxAbs(one.moments().get(key))))));
        for (int s = 0; s < stages; s++) {
            assertThat(ranks.get(s).held()).as("1F1B: stage %d holds at most p − s micro-batches", s).isEqualTo(Math.min(stages - s, m));
        }
    }

    @ParameterizedTest(name = "{0} stages, {1} micro-batches")
    @CsvSource({"2, 2", "4, 2", "4, 4"})
    void lossAndGradientsEqualOneForwardPassOverTheWholeBatch(int stages, int m) {
        Run whole = singleDevice(tiny(0f), m, 1, true);
        List<Run> ranks = pipeline(tiny(0f), stages, m, 1, PipelineSchedule.ONE_F_ONE_B);
        assertThat(ranks.getFirst().losses()[0]).isCloseTo(whole.losses()[0], within(1e-6 * whole.losses()[0]));
        for (Run rank : ranks) {
            rank.gradients().forEach((name, g) -> {
                float[] want = whole.gradients().get(name);
                assertThat(g).as(name).containsExactly(want, within((float) (5e-6 * maxAbs(want))));
            });
        }
    }

    @Test
    void gpipeComputesWhatOneForwardOneBackwardComputesBitForBit() {
        List<Run> oneF = pipeline(tiny(0.1f), 4, 4, 2, PipelineSchedule.ONE_F_ONE_B);
        List<Run> gpipe = pipeline(tiny(0.1f), 4, 4, 2, PipelineSchedule.GPIPE);
        for (int s = 0; s < 4; s++) {
            Run a = oneF.get(s), b = gpipe.get(s);
            assertThat(b.losses()).containsExactly(a.losses());
            a.gradients().forEach((name, g) -> assertThat(b.gradients().get(name)).as(name).isEqualTo(g));
            a.weights().forEach((name, w) -> assertThat(b.weights().get(name)).as(name).isEqualTo(w));
            assertThat(b.held()).as("GPipe holds every micro-batch").isEqualTo(4);
        }
    }

    @Test
    void moreStagesThanLayersIsAOneLineError() {
        List<RankThreads.Outcome<Object>> outcomes = RankThreads.outcomes(InProcessCommunicator.group(5), c -> {
            try (CpuBackend backend = new CpuBackend(1); GptNeoModel model = tiny(0f).build(backend)) {
                return PipelineParallel.create(model, c, PipelineSchedule.ONE_F_ONE_B);
            }
        });
        for (RankThreads.Outcome<Object> o : outcomes) {
            assertThat(o.failure()).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("a pipeline of 5 stages needs at least 5 layers (one per stage), the model has 4");
        }
    }

    private static double maxAbs(float[] a) {
        double m = 0;
        for (float x : a) m = Math.max(m, Math.abs(x));
        return m;
    }
}
