package org.gptneo.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.gptneo.GptNeo;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.model.GptNeoModel;
import org.gptneo.parallel.Communicator;
import org.gptneo.parallel.InProcessCommunicator;
import org.gptneo.parallel.InProcessRanks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Trainer with {@code pipelineParallel(group)} over in-process ranks against one process with
 * gradient accumulation over the same micro-batches: a tiny GPT-Neo (4 layers, dropout 0.1) trained
 * with warm-up, weight decay and clipping. The curves agree within 1e-6 relative and the weights
 * within 1e-5: the stages compute every gradient but the tied embedding's bit for bit, and that one's
 * two halves are summed in another order (see PipelineParallelTest). Every rank's model ends with
 * the same weights; rank 0 writes ordinary checkpoints, which resume a pipeline run exactly.
 */
class PipelineTrainingTest {
    private static final int STEPS = 4;

    /** The losses per step and the final parameters of one rank's model (or the single process's). */
    private record Outcome(List<Double> losses, Map<String, float[]> parameters) {}

    private static GptNeoModel model() {
        return GptNeo.builder().vocabSize(64).contextLength(32).hiddenSize(16).layers(4).heads(2).dropout(0.1f).seed(3)
                .build(new CpuBackend(1)).closingBackend();
    }

    private static TrainerBuilder trainer(GptNeoModel model) {
        return Trainer.builder().model(model).data(ArrayTokens.patterned(3000, 64, 5)).seqLen(16).steps(STEPS)
                .batchSize(2).accumulate(3).learningRate(1e-2).warmup(1).weightDecay(0.1).gradClip(1.0).seed(11);
    }

    private static Outcome single(UnaryOperator<TrainerBuilder> more) {
        try (GptNeoModel model = model()) {
            return run(model, more.apply(trainer(model)));
        }
    }

    private static List<Outcome> pipeline(int stages, UnaryOperator<TrainerBuilder> more) {
        return InProcessRanks.run(stages, (Communicator c) -> {
            try (GptNeoModel model = model()) {
                return run(model, more.apply(trainer(model)).pipelineParallel(c));
            }
        });
    }

    private static Outcome run(GptNeoModel model, TrainerBuilder builder) {
        List<Double> losses = new ArrayList<>();
        builder.listener(new TrainerListener() {
            @Override public void onStep(StepMetrics m) { losses.add(m.loss()); }
        }).build().fit();
        return new Outcome(losses, parameters(model));
    }

    private static Map<String, float[]> parameters(GptNeoModel model) {
        Map<String, float[]> out = new LinkedHashMap<>();
        model.parameters().forEach((name, p) -> out.put(name, p.value().toFloatArray()));
        return out;
    }

    @Test
    void twoAndFourStagesFollowTheSingleProcessCurveAndEveryModelEndsTrained() {
        Outcome one = single(b -> b);
        for (int stages : new int[] {2, 4}) {
            List<Outcome> ranks = pipeline(stages, b -> b);
            assertThat(ranks.getFirst().losses()).as("rank 0 reports every step").hasSize(STEPS);
            for (int i = 0; i < STEPS; i++) {
                assertThat(ranks.getFirst().losses().get(i)).as("%d stages, step %d", stages, i + 1)
                        .isCloseTo(one.losses().get(i), within(1e-6 * one.losses().get(i)));
            }
            one.parameters().forEach((name, w) -> assertThat(ranks.getFirst().parameters().get(name)).as(name)
                    .containsExactly(w, within(1e-5f)));
            for (Outcome rank : ranks) {
                rank.parameters().forEach((name, w) -> assertThat(w).as("%s on every rank", name)
                        .isEqualTo(ranks.getFirst().parameters().get(name)));
            }
        }
    }

    @Test
    void rankZeroWritesOrdinaryCheckpointsThatResumeAPipelineRunExactly(@TempDir Path whole, @TempDir Path resumed) {
        List<Outcome> uninterrupted = pipeline(2, b -> b.outputDir(whole).checkpointEvery(2));
        try (GptNeoModel saved = HfCheckpoint.load(whole.resolve("checkpoint-" + STEPS), new CpuBackend(1))) {
            parameters(saved).forEach((name, w) -> assertThat(w).as(name).isEqualTo(uninterrupted.getFirst().parameters().get(name)));
        }
        List<Outcome> continued = pipeline(2, b -> b.outputDir(resumed).resumeFrom(whole.resolve("checkpoint-2")));
        assertThat(continued.getFirst().losses()).containsExactlyElementsOf(uninterrupted.getFirst().losses().subList(2, STEPS));
        uninterrupted.getFirst().parameters().forEach((name, w) -> assertThat(continued.getFirst().parameters().get(name)).as(name)
                .isEqualTo(w));
    }

    @Test
    void refusesWhatItCannotCombine() {
        try (GptNeoModel model = model()) {
            List<InProcessCommunicator> five = InProcessCommunicator.group(5);
            assertThatThrownBy(() -> trainer(model).pipelineParallel(five.getFirst()).build())
                    .hasMessage("a pipeline of 5 stages needs at least 5 layers (one per stage), the model has 4");
        }
    }
}
