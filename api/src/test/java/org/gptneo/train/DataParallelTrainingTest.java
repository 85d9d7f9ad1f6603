package org.gptneo.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.gptneo.data.TokenSource;
import org.gptneo.model.GptNeoModel;
import org.gptneo.parallel.CommunicatorException;
import org.gptneo.parallel.InProcessRanks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data-parallel training over in-process ranks against one process with the same global batch.
 *
 * <p>Tolerance: the ranks each sum their own rows' losses and gradients and the mean is then taken
 * over the ranks' means, so the float additions happen in another order than in one process. That
 * moves a loss by an ulp or two (about 1e-7 relative) and a parameter by about 1e-7 after five
 * steps; the tests allow 1e-6 (relative for losses, absolute for parameters of order 0.1 to 1), far
 * below what a wrong row split, a missing average or a mis-sharded update would give (1e-3 and up).
 * Between ranks, between runs, and between ZeRO-1 and plain data parallelism without clipping, the
 * numbers are equal bit for bit.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DataParallelTrainingTest {
    private static final double TOLERANCE = 1e-6;

    @Test
    void twoAndFourRanksFollowTheSingleProcessCurve() {
        DataParallelRun.Outcome one = DataParallelRun.single(4, 1, b -> b);
        for (int ranks : new int[] {2, 4}) {
            List<DataParallelRun.Outcome> all = DataParallelRun.parallel(ranks, 0, 4, 1, b -> b);
            assertClose(all.getFirst(), one);
            assertRanksAgree(all);
        }
    }

    @Test
    void zeroOneFollowsTheSingleProcessCurveWithAndWithoutAccumulation() {
        DataParallelRun.Outcome one = DataParallelRun.single(4, 1, b -> b);
        List<DataParallelRun.Outcome> four = DataParallelRun.parallel(4, 1, 4, 1, b -> b);
        assertClose(four.getFirst(), one);
        assertRanksAgree(four);

        DataParallelRun.Outcome accumulated = DataParallelRun.single(2, 3, b -> b);
        List<DataParallelRun.Outcome> two = DataParallelRun.parallel(2, 1, 2, 3, b -> b);
        assertClose(two.getFirst(), accumulated);
        assertRanksAgree(two);
    }

    @Test
    void zeroOneEqualsPlainDataParallelBitForBitWithoutClipping() {
        UnaryOperator<TrainerBuilder> noClipping = b -> b.gradClip(0);
        DataParallelRun.Outcome plain = DataParallelRun.parallel(2, 0, 4, 1, noClipping).getFirst();
        DataParallelRun.Outcome sharded = DataParallelRun.parallel(2, 1, 4, 1, noClipping).getFirst();
        assertThat(sharded.losses()).isEqualTo(plain.losses());
        assertThat(sharded.parameters()).containsExactlyEntriesOf(plain.parameters());
    }

    @Test
    void reducingDuringOrAfterTheBackwardPassGivesTheSameBits() {
        for (int zero : new int[] {0, 1}) {
            for (int accumulate : new int[] {1, 2}) {
                DataParallelRun.Outcome during = DataParallelRun.parallel(2, zero, 4, accumulate, b -> b.overlapGradientReduction(true)).getFirst();
                DataParallelRun.Outcome after = DataParallelRun.parallel(2, zero, 4, accumulate, b -> b.overlapGradientReduction(false)).getFirst();
                assertThat(during.losses()).as("zero " + zero + ", accumulate " + accumulate).isEqualTo(after.losses());
                assertThat(during.parameters()).containsExactlyEntriesOf(after.parameters());
            }
        }
    }

    @Test
    void theSameSeedGivesTheSameCurveBitForBit() {
        List<DataParallelRun.Outcome> first = DataParallelRun.parallel(2, 1, 4, 1, b -> b);
        List<DataParallelRun.Outcome> second = DataParallelRun.parallel(2, 1, 4, 1, b -> b);
        assertThat(second.getFirst().losses()).isEqualTo(first.getFirst().losses());
        assertThat(second.getFirst().parameters()).containsExactlyEntriesOf(first.getFirst().parameters());
    }

    @Test
    void onlyRankZeroWritesAndItWritesWhatOneProcessWrites(@TempDir Path single, @TempDir Path parallel) throws IOException {
        DataParallelRun.single(4, 1, b -> b.outputDir(single).checkpointEvery(2));
        DataParallelRun.parallel(2, 1, 4, 1, b -> b.outputDir(parallel).checkpointEvery(2));
        assertThat(files(parallel)).isEqualTo(files(single)).contains("checkpoint-2/optimizer.safetensors", "metrics.jsonl");
        assertThat(Files.readAllLines(parallel.resolve(MetricsLog.FILE))).hasSize(DataParallelRun.STEPS);
    }

    @Test
    void aZeroOneCheckpointResumesInOneProcessAndTheOtherWayRound(@TempDir Path sharded, @TempDir Path resumedSingle,
                                                                 @TempDir Path single, @TempDir Path resumedSharded) {
        DataParallelRun.Outcome whole = DataParallelRun.parallel(2, 1, 4, 1, b -> b.outputDir(sharded).checkpointEvery(2)).getFirst();
        DataParallelRun.Outcome continued = DataParallelRun.single(4, 1,
                b -> b.outputDir(resumedSingle).resumeFrom(sharded.resolve("checkpoint-2")));
        assertThat(continued.losses()).hasSize(DataParallelRun.STEPS - 2);
        assertClose(continued, tail(whole, 2));

        DataParallelRun.Outcome wholeSingle = DataParallelRun.single(4, 1, b -> b.outputDir(single).checkpointEvery(2));
        DataParallelRun.Outcome continuedSharded = DataParallelRun.parallel(2, 1, 4, 1,
                b -> b.outputDir(resumedSharded).resumeFrom(single.resolve("checkpoint-2"))).getFirst();
        assertClose(continuedSharded, tail(wholeSingle, 2));
    }

    @Test
    void aRankThatFailsMidStepEndsTheRunOnEveryRankNamingIt() {
        long start = System.nanoTime();
        assertThatThrownBy(() -> InProcessRanks.run(4, c -> {
            try (GptNeoModel model = DataParallelRun.model()) {
                TokenSource data = ArrayTokens.patterned(3000, 64, 5);
                if (c.rank() == 2) data = failingAfter(data, 16 * 4 * 2 + 5);   // in step 3's batch
                return DataParallelRun.trainer(model, 4, 1).data(data).dataParallel(c).build().fit();
            }
        })).isInstanceOf(CommunicatorException.class)
                .hasMessage("rank 2 failed: IllegalStateException: read error in the training data");
        assertThat((System.nanoTime() - start) / 1e9).isLessThan(20);
    }

    @Test
    void aCancelOnOneRankStopsEveryRankAfterTheSameStep(@TempDir Path out) {
        List<TrainingResult> results = InProcessRanks.run(2, c -> {
            try (GptNeoModel model = DataParallelRun.model()) {
                Trainer[] trainer = new Trainer[1];
                trainer[0] = DataParallelRun.trainer(model, 4, 1).outputDir(out).dataParallel(c).zeroStage(1)
                        .listener(new TrainerListener() {
                            @Override public void onStep(StepMetrics m) { if (c.rank() == 1 && m.step() == 2) trainer[0].cancel(); }
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
    void refusesZeroStagesItDoesNotHaveAndBatchesTheRanksCannotSplit() {
        try (GptNeoModel model = DataParallelRun.model()) {
            assertThatThrownBy(() -> DataParallelRun.trainer(model, 4, 1).zeroStage(2).build())
                    .hasMessage("ZeRO stage 2 is not available (1 is)");
            assertThatThrownBy(() -> DataParallelRun.trainer(model, 4, 1).zeroStage(1).build())
                    .hasMessage("ZeRO stage 1 shards the optimizer over a data-parallel group: give dataParallel(group)");
        }
        assertThatThrownBy(() -> InProcessRanks.run(3, c -> {
            try (GptNeoModel model = DataParallelRun.model()) {
                return DataParallelRun.trainer(model, 4, 1).dataParallel(c).build();
            }
        })).hasMessageContaining("the batch size 4 is not divisible by the data-parallel degree 3");
    }

    private static DataParallelRun.Outcome tail(DataParallelRun.Outcome o, int from) {
        return new DataParallelRun.Outcome(o.losses().subList(from, o.losses().size()), o.parameters());
    }

    private static void assertClose(DataParallelRun.Outcome got, DataParallelRun.Outcome expected) {
        assertThat(got.losses()).hasSameSizeAs(expected.losses());
        for (int i = 0; i < got.losses().size(); i++) {
            assertThat(got.losses().get(i)).as("loss of step %d", i + 1)
                    .isCloseTo(expected.losses().get(i), within(TOLERANCE * Math.abs(expected.losses().get(i))));
        }
        for (Map.Entry<String, float[]> e : expected.parameters().entrySet()) {
            float[] g = got.parameters().get(e.getKey()), x = e.getValue();
            for (int i = 0; i < x.length; i++) {
                assertThat((double) g[i]).as("%s[%d]", e.getKey(), i).isCloseTo(x[i], within(TOLERANCE));
            }
        }
    }

    private static void assertRanksAgree(List<DataParallelRun.Outcome> all) {
        for (DataParallelRun.Outcome o : all) {
            assertThat(o.losses()).isEqualTo(all.getFirst().losses());
            assertThat(o.parameters()).containsExactlyEntriesOf(all.getFirst().parameters());
        }
    }

    /** Every file under {@code dir}, as relative paths, sorted. */
    private static List<String> files(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            return all.filter(Files::isRegularFile).map(p -> dir.relativize(p).toString()).sorted().toList();
        }
    }

    /** {@code data}, whose reads fail from token {@code limit} on. */
    private static TokenSource failingAfter(TokenSource data, long limit) {
        return new TokenSource() {
            private long read;

            @Override public long length() { return data.length(); }

            @Override public void read(long from, int[] dst, int offset, int count) {
                read += count;
                if (read > limit) throw new IllegalStateException("read error in the training data");
                data.read(from, dst, offset, count);
            }

            @Override public String description() { return data.description(); }

            @Override public void close() { data.close(); }
        };
    }
}
