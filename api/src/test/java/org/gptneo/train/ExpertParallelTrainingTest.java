package org.gptneo.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.gptneo.GptNeo;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.lora.LoRA;
import org.gptneo.lora.LoraAdapter;
import org.gptneo.model.GptNeoModel;
import org.gptneo.nn.MoeSettings;
import org.gptneo.nn.SecondExpertPolicy;
import org.gptneo.parallel.Communicator;
import org.gptneo.parallel.InProcessCommunicator;
import org.gptneo.parallel.InProcessRanks;
import org.gptneo.parallel.ParallelGroups;
import org.gptneo.parallel.ParallelLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Trainer with {@code expertParallel} (ep = 2, and dp = 2 × ep = 2 on four ranks split by
 * {@code ParallelGroups}: rank = e + 2·d) on a tiny mixture-of-experts GPT-Neo (V 64, d 16, 2 heads,
 * 2 layers, both mixtures of 4 experts of width 24, top-2, dropout 0; the runs of
 * {@link DataParallelRun}: warm-up, weight decay 0.1, clipping 1.0, lr 1e-2, 5 steps) against the
 * equivalent data-parallel run with every expert replicated (dp = 2 resp. dp = 4, the same global
 * batch), and against one process where routing per rank equals routing over the whole batch.
 *
 * <p>Routing is per rank in both the expert-parallel and the data-parallel run (capacity per group of
 * a rank's tokens, the random second-expert policy by a rank's token index), so they compute the same
 * sums in another order: an expert's product and weight gradient over both ranks' rows at once then
 * ÷ ep, the replicated gradients averaged over the expert-parallel group then the data-parallel one.
 * One process differs from both only through routing that crosses rank boundaries: with groups of one
 * row (16 tokens) and the deterministic second-expert policy "all", it does not. Measured over 5 steps,
 * worst loss difference relative / worst parameter difference: ep2 against dp2 (capacity 0.5, groups
 * of 8, assignments dropped) 0 / 1.2e-7, with accumulation 2 0 / 1.5e-8; dp2×ep2 against dp4 1.1e-7 /
 * 1.2e-7; against one process (nothing dropped) ep2 1.1e-7 / 6.0e-8, dp2×ep2 1.1e-7 / 1.2e-7; resumed
 * across layouts ≤ 6.3e-8 / 6.0e-8. The tests allow 1e-6 for both, as {@link ParallelLayoutTrainingTest};
 * averaging the experts over the wrong ranks or without ÷ ep misses by whole factors.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ExpertParallelTrainingTest {
    private static final double LOSS_TOLERANCE = 1e-6;
    private static final float PARAMETER_TOLERANCE = 1e-6f;
    /** Drops assignments: capacity factor 0.5 in groups of 8 tokens, second experts kept at random (by token index). */
    private static final MoeSettings DROPPING = moe(0.5f, 8, SecondExpertPolicy.RANDOM);
    /** Drops nothing, routes one row at a time and keeps every second expert: one process routes as the ranks do. */
    private static final MoeSettings KEEPING = moe(4f, 16, SecondExpertPolicy.ALL);

    private static MoeSettings moe(float capacity, int groupSize, SecondExpertPolicy policy) {
        return new MoeSettings(List.of(0, 1), 4, 2, 24, "relu", capacity, 2f, 1, groupSize, policy, SecondExpertPolicy.ALL,
                0.2f, 0.01f);
    }

    private static GptNeoModel model(MoeSettings moe) {
        return GptNeo.builder().vocabSize(64).contextLength(32).hiddenSize(16).layers(2).heads(2).dropout(0f).seed(3).moe(moe)
                .build(new CpuBackend(1)).closingBackend();
    }

    private static DataParallelRun.Outcome single(MoeSettings moe, int batch, UnaryOperator<TrainerBuilder> more) {
        try (GptNeoModel model = model(moe)) {
            return DataParallelRun.run(model, more.apply(DataParallelRun.trainer(model, batch, 1)));
        }
    }

    /** Data-parallel replicas holding every expert: every rank's outcome. */
    private static List<DataParallelRun.Outcome> replicated(MoeSettings moe, int ranks, int batch, int accumulate) {
        return InProcessRanks.run(ranks, (Communicator world) -> {
            try (GptNeoModel model = model(moe)) {
                return DataParallelRun.run(model, DataParallelRun.trainer(model, batch, accumulate).dataParallel(world));
            }
        });
    }

    /** dp × ep ranks split by {@link ParallelGroups}, the trainer given the expert-parallel group and (dp > 1) the data-parallel one. */
    private static List<DataParallelRun.Outcome> expertParallel(MoeSettings moe, int dp, int ep, int batch, int accumulate,
                                                                UnaryOperator<TrainerBuilder> more) {
        return expertParallel(moe, dp, ep, batch, accumulate, 0, more);
    }

    /** As above, under ZeRO stage {@code zero} (1: AdamW's state sharded over the data-parallel group, even of one rank). */
    private static List<DataParallelRun.Outcome> expertParallel(MoeSettings moe, int dp, int ep, int batch, int accumulate, int zero,
                                                                UnaryOperator<TrainerBuilder> more) {
        ParallelLayout layout = new ParallelLayout(dp, 1, 1, ep);
        return InProcessRanks.run(layout.worldSize(), (Communicator world) -> {
            try (ParallelGroups groups = ParallelGroups.split(world, layout); GptNeoModel model = model(moe)) {
                TrainerBuilder builder = more.apply(DataParallelRun.trainer(model, batch, accumulate)).expertParallel(groups.expert())
                        .zeroStage(zero);
                if (dp > 1 || zero > 0) builder.dataParallel(groups.data());
                return DataParallelRun.run(model, builder);
            }
        });
    }

    @Test
    void expertParallelOverTwoRanksFollowsTwoDataParallelReplicas() {
        assertClose(expertParallel(DROPPING, 1, 2, 4, 1, b -> b), replicated(DROPPING, 2, 4, 1).getFirst(), "ep=2");
        assertClose(expertParallel(DROPPING, 1, 2, 4, 2, b -> b), replicated(DROPPING, 2, 4, 2).getFirst(), "ep=2, accumulation 2");
    }

    @Test
    void dataTimesExpertParallelFollowsFourDataParallelReplicas() {
        assertClose(expertParallel(DROPPING, 2, 2, 4, 1, b -> b), replicated(DROPPING, 4, 4, 1).getFirst(), "dp=2,ep=2");
    }

    @Test
    void zeroOneWithExpertParallelFollowsTheSameReplicas() {
        assertClose(expertParallel(DROPPING, 2, 2, 4, 2, 1, b -> b), replicated(DROPPING, 4, 4, 2).getFirst(), "dp=2,ep=2, ZeRO-1");
        assertClose(expertParallel(DROPPING, 1, 2, 4, 1, 1, b -> b), replicated(DROPPING, 2, 4, 1).getFirst(), "ep=2, ZeRO-1 over one rank");
    }

    @Test
    void withRoutingThatStaysWithinRanksExpertParallelFollowsOneProcess() {
        DataParallelRun.Outcome one = single(KEEPING, 4, b -> b);
        assertClose(expertParallel(KEEPING, 1, 2, 4, 1, b -> b), one, "ep=2 against one process");
        assertClose(expertParallel(KEEPING, 2, 2, 4, 1, b -> b), one, "dp=2,ep=2 against one process");
    }

    @Test
    void anExpertParallelCheckpointIsOrdinaryAndResumesOnOtherLayouts(@TempDir Path single, @TempDir Path ep2,
                                                                     @TempDir Path fromEp2, @TempDir Path fromSingle,
                                                                     @TempDir Path fromEp2OnFour) {
        DataParallelRun.Outcome uninterrupted = single(KEEPING, 4, b -> b.outputDir(single).checkpointEvery(2));
        List<DataParallelRun.Outcome> ranks = expertParallel(KEEPING, 1, 2, 4, 1, b -> b.outputDir(ep2).checkpointEvery(2));
        try (GptNeoModel saved = HfCheckpoint.load(ep2.resolve("checkpoint-" + DataParallelRun.STEPS), new CpuBackend(1))) {
            DataParallelRun.parameters(saved).forEach((name, w) -> assertThat(w).as(name)
                    .isEqualTo(ranks.getFirst().parameters().get(name)));
        }
        assertClose(List.of(single(KEEPING, 4, b -> b.outputDir(fromEp2).resumeFrom(ep2.resolve("checkpoint-2")))),
                tail(uninterrupted, 2), "one process resumed from an ep=2 checkpoint");
        assertClose(expertParallel(KEEPING, 1, 2, 4, 1, b -> b.outputDir(fromSingle).resumeFrom(single.resolve("checkpoint-2"))),
                tail(uninterrupted, 2), "ep=2 resumed from a single process's checkpoint");
        assertClose(expertParallel(KEEPING, 2, 2, 4, 1, b -> b.outputDir(fromEp2OnFour).resumeFrom(ep2.resolve("checkpoint-2"))),
                tail(uninterrupted, 2), "dp=2,ep=2 resumed from an ep=2 checkpoint");
    }

    @Test
    void aCancelOnRankThreeStopsEveryRankAfterTheSameStep(@TempDir Path out) {
        ParallelLayout layout = new ParallelLayout(2, 1, 1, 2);
        List<TrainingResult> results = InProcessRanks.run(layout.worldSize(), world -> {
            try (ParallelGroups groups = ParallelGroups.split(world, layout); GptNeoModel model = model(DROPPING)) {
                Trainer[] trainer = new Trainer[1];
                trainer[0] = DataParallelRun.trainer(model, 4, 1).outputDir(out).expertParallel(groups.expert())
                        .dataParallel(groups.data()).listener(new TrainerListener() {
                            @Override public void onStep(StepMetrics m) { if (world.rank() == 3 && m.step() == 2) trainer[0].cancel(); }
                        }).build();
                return trainer[0].fit();
            }
        });
        for (TrainingResult r : results) {
            assertThat(r.status()).isEqualTo(TrainingResult.Status.CANCELLED);
            assertThat(r.steps()).isEqualTo(3);   // step 3 carries the cancel made after step 2 to every rank
        }
        assertThat(out.resolve("checkpoint-3")).isDirectory();
    }

    @Test
    void refusesWhatItCannotCombine() {
        List<InProcessCommunicator> two = InProcessCommunicator.group(2), three = InProcessCommunicator.group(3);
        try (GptNeoModel model = model(DROPPING)) {
            assertThatThrownBy(() -> DataParallelRun.trainer(model, 4, 1).expertParallel(two.getFirst())
                    .tensorParallel(two.getLast()).build())
                    .hasMessage("expert parallelism together with tensor parallelism is not available yet");
            assertThatThrownBy(() -> DataParallelRun.trainer(model, 4, 1).expertParallel(two.getFirst())
                    .pipelineParallel(two.getLast()).build())
                    .hasMessage("expert parallelism together with pipeline parallelism is not available yet");
            assertThatThrownBy(() -> DataParallelRun.trainer(model, 4, 1).expertParallel(three.getFirst()).build())
                    .hasMessage("expert parallelism over 3 ranks needs the experts to split evenly, but 4 experts % 3 = 1");
            assertThatThrownBy(() -> DataParallelRun.trainer(model, 6, 1).expertParallel(two.getFirst())
                    .dataParallel(two.getLast()).build())
                    .hasMessage("the batch size 6 is not divisible by the data-parallel degree 4 (each rank takes batch/dp rows)");
            try (LoraAdapter adapter = LoRA.rank(2).apply(model)) {
                assertThatThrownBy(() -> DataParallelRun.trainer(model, 4, 1).adapter(adapter).expertParallel(two.getFirst()).build())
                        .hasMessage("expert parallelism trains the whole model, not a LoRA adapter");
            }
        }
        try (GptNeoModel dense = DataParallelRun.model()) {
            assertThatThrownBy(() -> DataParallelRun.trainer(dense, 4, 1).expertParallel(two.getFirst()).build())
                    .hasMessage("expert parallelism splits mixture-of-experts layers, but the model has none (use data parallelism)");
        }
    }

    /** The outcome of steps after {@code from}: the losses from there on, the same final parameters. */
    private static DataParallelRun.Outcome tail(DataParallelRun.Outcome whole, int from) {
        return new DataParallelRun.Outcome(whole.losses().subList(from, whole.losses().size()), whole.parameters());
    }

    /** Every rank's logged losses and final (full) weights against {@code want}, and every rank's weights the same bits. */
    private static void assertClose(List<DataParallelRun.Outcome> ranks, DataParallelRun.Outcome want, String run) {
        DataParallelRun.Outcome got = ranks.getFirst();
        assertThat(got.losses()).as("%s: steps logged", run).hasSameSizeAs(want.losses());
        for (int i = 0; i < want.losses().size(); i++) {
            double w = want.losses().get(i), g = got.losses().get(i);
            assertThat(g).as("%s, loss %d", run, i + 1).isCloseTo(w, within(LOSS_TOLERANCE * Math.abs(w)));
        }
        want.parameters().forEach((name, w) -> assertThat(got.parameters().get(name)).as("%s: %s", run, name)
                .containsExactly(w, within(PARAMETER_TOLERANCE)));
        for (DataParallelRun.Outcome rank : ranks) {
            rank.parameters().forEach((name, w) -> assertThat(w).as("%s: %s on every rank", run, name)
                    .isEqualTo(got.parameters().get(name)));
        }
    }
}
