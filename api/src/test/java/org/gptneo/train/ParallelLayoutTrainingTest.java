package org.gptneo.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.model.GptNeoModel;
import org.gptneo.parallel.InProcessCommunicator;
import org.gptneo.parallel.InProcessRanks;
import org.gptneo.parallel.ParallelGroups;
import org.gptneo.parallel.ParallelLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Trainer on every composition of {@code dataParallel}, {@code tensorParallel} and
 * {@code pipelineParallel} groups (tp2, dp2×tp2, dp2×pp2, tp2×pp2 and dp2×tp2×pp2 on eight ranks),
 * in-process ranks split by {@code ParallelGroups}, against one process with the same global batch
 * and accumulation (the tiny model of {@link DataParallelRun}: 2 layers, 2 heads, dropout 0; warm-up,
 * weight decay, clipping, 5 steps).
 *
 * <p>Tolerance: tensor parallelism sums each row-parallel product in t partial sums and takes the
 * cross-entropy's statistics in another order, so gradients differ from one process's by float
 * rounding (about 1e-6 of their size); AdamW divides by √v + ε, which turns that rounding into a
 * part of a step of size lr on near-zero gradients; data parallelism averages the ranks' means.
 * Measured over 5 steps (lr 1e-2), worst loss difference relative / worst parameter difference:
 * tp2 2.2e-8 / 1.2e-7, dp2×tp2 3.0e-8 / 6.0e-8, dp2×pp2 3.3e-8 / 6.0e-8, tp2×pp2 0 / 6.0e-8,
 * dp2×tp2×pp2 3.3e-8 / 1.2e-7, resumed across layouts ≤ 6.5e-8 / 6.0e-8. The tests allow 1e-6 for both. A wrong shard, a missing average or a
 * norm over one rank's shards moves them by 1e-3 and up.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ParallelLayoutTrainingTest {
    private static final double LOSS_TOLERANCE = 1e-6;
    private static final float PARAMETER_TOLERANCE = 1e-6f;

    @Test
    void tensorParallelOverTwoRanksFollowsTheSingleProcessCurve() {
        DataParallelRun.Outcome one = DataParallelRun.single(4, 3, b -> b);
        List<DataParallelRun.Outcome> ranks = DataParallelRun.parallel(new ParallelLayout(1, 2, 1, 1), 4, 3, b -> b);
        assertClose(ranks.getFirst(), one, "tp=2");
        assertRanksAgree(ranks);
    }

    @Test
    void dataParallelTimesTensorParallelFollowsTheSingleProcessCurve() {
        DataParallelRun.Outcome one = DataParallelRun.single(4, 2, b -> b);
        List<DataParallelRun.Outcome> ranks = DataParallelRun.parallel(new ParallelLayout(2, 2, 1, 1), 4, 2, b -> b);
        assertClose(ranks.getFirst(), one, "dp=2,tp=2");
        assertRanksAgree(ranks);
    }

    @Test
    void dataParallelTimesPipelineParallelFollowsTheSingleProcessCurve() {
        DataParallelRun.Outcome one = DataParallelRun.single(4, 2, b -> b);
        List<DataParallelRun.Outcome> ranks = DataParallelRun.parallel(new ParallelLayout(2, 1, 2, 1), 4, 2, b -> b);
        assertClose(ranks.getFirst(), one, "dp=2,pp=2");
        assertRanksAgree(ranks);
    }

    @Test
    void tensorTimesPipelineParallelFollowsTheSingleProcessCurve() {
        DataParallelRun.Outcome one = DataParallelRun.single(4, 2, b -> b);
        List<DataParallelRun.Outcome> ranks = DataParallelRun.parallel(new ParallelLayout(1, 2, 2, 1), 4, 2, b -> b);
        assertClose(ranks.getFirst(), one, "tp=2,pp=2");
        assertRanksAgree(ranks);
    }

    @Test
    void dataTimesTensorTimesPipelineParallelOnEightRanksFollowsTheSingleProcessCurve() {
        DataParallelRun.Outcome one = DataParallelRun.single(4, 2, b -> b);
        List<DataParallelRun.Outcome> ranks = DataParallelRun.parallel(new ParallelLayout(2, 2, 2, 1), 4, 2, b -> b);
        assertClose(ranks.getFirst(), one, "dp=2,tp=2,pp=2");
        assertRanksAgree(ranks);
    }

    @Test
    void zeroOneWithTensorAndPipelineParallelFollowsTheSingleProcessCurve() {
        DataParallelRun.Outcome one = DataParallelRun.single(4, 2, b -> b);
        for (ParallelLayout layout : List.of(new ParallelLayout(2, 2, 1, 1), new ParallelLayout(2, 1, 2, 1),
                new ParallelLayout(2, 2, 2, 1))) {
            List<DataParallelRun.Outcome> ranks = DataParallelRun.parallel(layout, 4, 2, b -> b.zeroStage(1));
            assertClose(ranks.getFirst(), one, layout + ", ZeRO-1");
            assertRanksAgree(ranks);
        }
    }

    @Test
    void aZeroOnePipelineCheckpointResumesInOneProcessAndOnTensorParallelRanks(@TempDir Path single, @TempDir Path sharded,
                                                                               @TempDir Path fromSharded, @TempDir Path fromSingle) {
        DataParallelRun.Outcome uninterrupted = DataParallelRun.single(4, 1, b -> b.outputDir(single).checkpointEvery(2));
        DataParallelRun.parallel(new ParallelLayout(2, 1, 2, 1), 4, 1, b -> b.zeroStage(1).outputDir(sharded).checkpointEvery(2));
        DataParallelRun.Outcome resumed = DataParallelRun.single(4, 1, b -> b.outputDir(fromSharded)
                .resumeFrom(sharded.resolve("checkpoint-2")));
        assertClose(resumed, tail(uninterrupted, 2), "one process resumed from a dp=2,pp=2 ZeRO-1 checkpoint");
        List<DataParallelRun.Outcome> resumedSharded = DataParallelRun.parallel(new ParallelLayout(2, 2, 1, 1), 4, 1,
                b -> b.zeroStage(1).outputDir(fromSingle).resumeFrom(single.resolve("checkpoint-2")));
        assertClose(resumedSharded.getFirst(), tail(uninterrupted, 2), "dp=2,tp=2 ZeRO-1 resumed from a single process's checkpoint");
    }

    @Test
    void aTensorParallelCheckpointIsOrdinaryAndResumesEitherWay(@TempDir Path single, @TempDir Path parallel,
                                                               @TempDir Path fromParallel, @TempDir Path fromSingle,
                                                               @TempDir Path fromTpPp) {
        ParallelLayout tp2 = new ParallelLayout(1, 2, 1, 1);
        DataParallelRun.Outcome uninterrupted = DataParallelRun.single(4, 1, b -> b.outputDir(single).checkpointEvery(2));
        List<DataParallelRun.Outcome> ranks = DataParallelRun.parallel(tp2, 4, 1, b -> b.outputDir(parallel).checkpointEvery(2));
        try (GptNeoModel saved = HfCheckpoint.load(parallel.resolve("checkpoint-" + DataParallelRun.STEPS), new CpuBackend(1))) {
            DataParallelRun.parameters(saved).forEach((name, w) -> assertThat(w).as(name)
                    .isEqualTo(ranks.getFirst().parameters().get(name)));
        }

        DataParallelRun.Outcome resumed = DataParallelRun.single(4, 1, b -> b.outputDir(fromParallel)
                .resumeFrom(parallel.resolve("checkpoint-2")));
        assertClose(resumed, tail(uninterrupted, 2), "one process resumed from a tp=2 checkpoint");

        List<DataParallelRun.Outcome> resumedOnTwo = DataParallelRun.parallel(tp2, 4, 1, b -> b.outputDir(fromSingle)
                .resumeFrom(single.resolve("checkpoint-2")));
        assertClose(resumedOnTwo.getFirst(), tail(uninterrupted, 2), "tp=2 resumed from a single process's checkpoint");

        List<DataParallelRun.Outcome> resumedOnFour = DataParallelRun.parallel(new ParallelLayout(1, 2, 2, 1), 4, 1,
                b -> b.outputDir(fromTpPp).resumeFrom(parallel.resolve("checkpoint-2")));
        assertClose(resumedOnFour.getFirst(), tail(uninterrupted, 2), "tp=2,pp=2 resumed from a tp=2 checkpoint");
    }

    @Test
    void aCancelOnRankThreeStopsEveryRankAfterTheSameStep(@TempDir Path dpTp, @TempDir Path dpPp, @TempDir Path tpPp) {
        Map<ParallelLayout, Path> outs = Map.of(new ParallelLayout(2, 2, 1, 1), dpTp, new ParallelLayout(2, 1, 2, 1), dpPp,
                new ParallelLayout(1, 2, 2, 1), tpPp);
        for (ParallelLayout layout : outs.keySet()) {
            Path out = outs.get(layout);
            List<TrainingResult> results = InProcessRanks.run(layout.worldSize(), world -> {
                try (ParallelGroups groups = ParallelGroups.split(world, layout); GptNeoModel model = DataParallelRun.model()) {
                    Trainer[] trainer = new Trainer[1];
                    TrainerBuilder builder = DataParallelRun.trainer(model, 4, 1).outputDir(out)
                            .listener(new TrainerListener() {
                                @Override public void onStep(StepMetrics m) { if (world.rank() == 3 && m.step() == 2) trainer[0].cancel(); }
                            });
                    if (layout.dp() > 1) builder.dataParallel(groups.data());
                    if (layout.tp() > 1) builder.tensorParallel(groups.tensor());
                    if (layout.pp() > 1) builder.pipelineParallel(groups.pipeline());
                    trainer[0] = builder.build();
                    return trainer[0].fit();
                }
            });
            for (TrainingResult r : results) {
                assertThat(r.status()).as("%s", layout).isEqualTo(TrainingResult.Status.CANCELLED);
                assertThat(r.steps()).as("%s", layout).isEqualTo(3);   // step 3 carries the cancel made after step 2 to every rank
            }
            assertThat(out.resolve("checkpoint-3")).isDirectory();
        }
    }

    @Test
    void refusesWhatItCannotCombine() {
        try (GptNeoModel model = DataParallelRun.model()) {
            List<InProcessCommunicator> two = InProcessCommunicator.group(2), three = InProcessCommunicator.group(3);
            assertThatThrownBy(() -> DataParallelRun.trainer(model, 4, 1).tensorParallel(three.getFirst()).build())
                    .hasMessage("tensor parallelism over 3 ranks needs the attention heads to split evenly, but 2 heads % 3 = 2");
        }
    }

    /** The outcome of steps after {@code from}: the losses from there on, the same final parameters. */
    private static DataParallelRun.Outcome tail(DataParallelRun.Outcome whole, int from) {
        return new DataParallelRun.Outcome(whole.losses().subList(from, whole.losses().size()), whole.parameters());
    }

    private static void assertClose(DataParallelRun.Outcome got, DataParallelRun.Outcome want, String run) {
        assertThat(got.losses()).as("%s: steps logged", run).hasSameSizeAs(want.losses());
        for (int i = 0; i < want.losses().size(); i++) {
            double w = want.losses().get(i), g = got.losses().get(i);
            assertThat(g).as("%s, loss %d", run, i + 1).isCloseTo(w, within(LOSS_TOLERANCE * Math.abs(w)));
        }
        want.parameters().forEach((name, w) -> assertThat(got.parameters().get(name)).as("%s: %s", run, name)
                .containsExactly(w, within(PARAMETER_TOLERANCE)));
    }

    /** Every rank's model ends with the same weights (the full ones, gathered from the shards or stages). */
    private static void assertRanksAgree(List<DataParallelRun.Outcome> ranks) {
        for (DataParallelRun.Outcome rank : ranks) {
            rank.parameters().forEach((name, w) -> assertThat(w).as("%s on every rank", name)
                    .isEqualTo(ranks.getFirst().parameters().get(name)));
        }
        assertThat(ranks.getFirst().losses()).hasSize(DataParallelRun.STEPS);
    }
}
