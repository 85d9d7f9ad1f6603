package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.gptneo.cli.TokenizeCommandTest.assertOneLineError;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.gptneo.GptNeo;
import org.gptneo.autograd.Var;
import org.gptneo.model.GptNeoModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gptneo train --parallel ep=2} and {@code dp=2,ep=2} on in-process ranks, on the fixtures'
 * tiny model with its one layer a mixture of 4 experts: OUT as the data-parallel run with the same
 * global batch writes it ({@code dp=2} resp. {@code dp=4}, every expert on every rank), and the usage
 * errors. Routing is per rank in both (see ExpertParallelTrainingTest), so the logged losses agree
 * within 1e-6 relative (measured: equal) and the saved models within 1e-2·lr = 1e-4 (measured: ep=2
 * 7.5e-8; dp=2,ep=2 8.7e-6 on one k_proj element, 5.8e-7 elsewhere: the replicated gradients are
 * averaged over the expert-parallel pair then the data-parallel pair instead of over four ranks at
 * once, and AdamW's first step, about lr·g/(|g| + ε), turns the rounding of a gradient near ε into
 * part of a step of size lr).
 */
class TrainCommandExpertParallelTest {
    @TempDir
    static Path dir;
    static Path moeFile, denseFile, data;

    @BeforeAll
    static void fixtures() throws IOException {
        denseFile = TrainFixtures.modelFile(dir);
        moeFile = Files.writeString(dir.resolve("moe.yaml"), Files.readString(denseFile) + "moe-layers: [0]\nmoe-num-experts: 4\n");
        data = TrainFixtures.text(dir.resolve("data.txt"), 60, 1);
    }

    private static String[] trainArgs(Path model, Path out, String... more) {
        List<String> all = new ArrayList<>(List.of("train", "--config", model.toString(), "--data", data.toString(),
                "--steps", "2", "--batch-size", "4", "--seq-len", "16", "--lr", "1e-2", "--out", out.toString()));
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    @Test
    void expertParallelRunsWriteTheFilesAndTheLossesOfTheDataParallelRun() throws IOException {
        for (String[] pair : new String[][] {{"ep=2", "dp=2", "on 2 expert-parallel ranks (in-process)"},
                                             {"dp=2,ep=2", "dp=4", "on 4 ranks, dp=2 × ep=2 (in-process)"}}) {
            Path expert = dir.resolve(pair[0]), replicated = dir.resolve(pair[1]);
            Cli e = Cli.run(trainArgs(moeFile, expert, "--parallel", pair[0]));
            Cli r = Cli.run(trainArgs(moeFile, replicated, "--parallel", pair[1]));
            assertThat(e.exitCode()).as(e.err()).isZero();
            assertThat(r.exitCode()).as(r.err()).isZero();
            assertThat(e.err()).contains(pair[2]);
            assertThat(e.out()).startsWith("done after 2 steps: loss ");
            assertThat(TrainFixtures.files(expert)).isEqualTo(TrainFixtures.files(replicated)).contains("model.safetensors", "checkpoint-2/optimizer.safetensors");
            List<Double> want = losses(replicated), got = losses(expert);
            assertThat(got).hasSize(2);
            for (int i = 0; i < want.size(); i++) {
                assertThat(got.get(i)).as("%s, step %d", pair[0], i + 1).isCloseTo(want.get(i), within(1e-6 * want.get(i)));
            }
            try (GptNeoModel a = GptNeo.load(replicated); GptNeoModel b = GptNeo.load(expert)) {
                Map<String, Var> expected = a.parameters();
                assertThat(b.parameters().keySet()).containsExactlyElementsOf(expected.keySet())
                        .contains("transformer.h.0.mlp.experts.3.c_fc.weight");
                b.parameters().forEach((name, p) -> {
                    float[] x = p.value().toFloatArray(), y = expected.get(name).value().toFloatArray();
                    double max = 0;
                    for (int j = 0; j < x.length; j++) max = Math.max(max, Math.abs((double) x[j] - y[j]));
                    assertThat(max).as("%s: %s", pair[0], name).isLessThanOrEqualTo(1e-4);
                });
            }
        }
        Path zero = dir.resolve("dp=2,ep=2,zero");                           // ZeRO-1 steps as the plain expert-parallel run
        Cli z = Cli.run(trainArgs(moeFile, zero, "--parallel", "dp=2,ep=2", "--zero", "1"));
        assertThat(z.exitCode()).as(z.err()).isZero();
        assertThat(z.err()).contains("on 4 ranks, dp=2 × ep=2 (in-process, ZeRO-1)");
        List<Double> want = losses(dir.resolve("dp=4")), got = losses(zero);
        for (int i = 0; i < want.size(); i++) assertThat(got.get(i)).as("ZeRO-1, step %d", i + 1).isCloseTo(want.get(i), within(1e-6 * want.get(i)));
    }

    @Test
    void layoutsExpertParallelismCannotRunAreOneLineErrors() {
        Path out = dir.resolve("refused");
        assertOneLineError(Cli.run(trainArgs(denseFile, out, "--parallel", "ep=2")),
                "expert parallelism splits mixture-of-experts layers, but the model has none (use data parallelism)");
        assertOneLineError(Cli.run(trainArgs(moeFile, out, "--parallel", "ep=3")),
                "expert parallelism over 3 ranks needs the experts to split evenly, but 4 experts % 3 = 1");
        assertOneLineError(Cli.run(trainArgs(moeFile, out, "--parallel", "ep=2,tp=2")),
                "expert parallelism together with tensor parallelism is not available yet");
        assertOneLineError(Cli.run(trainArgs(moeFile, out, "--parallel", "ep=2,pp=2")),
                "expert parallelism together with pipeline parallelism is not available yet");
        assertOneLineError(Cli.run(trainArgs(moeFile, out, "--parallel", "dp=2,ep=4")),
                "the batch size 4 is not divisible by the data-parallel degree 8");
        assertThat(out).doesNotExist();
    }

    /** GPT-NeoX's per-GPU micro-batch counts every rank that computes its own rows: dp · ep of them. */
    @Test
    void aMicroBatchPerRankMakesABatchOfDpTimesEpRows() {
        Cli r = Cli.run("train", "--config", moeFile.toString(), "--data", data.toString(), "--steps", "1", "--micro-batch-size", "2",
                "--parallel", "dp=2,ep=2", "--out", dir.resolve("printed").toString(), "--print-config");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out().lines()).contains("  batch-size: 8");
        assertOneLineError(Cli.run(trainArgs(moeFile, dir.resolve("printed"), "--micro-batch-size", "2", "--parallel", "dp=2,ep=2")),
                "--batch-size 4 disagrees with --micro-batch-size 2 × dp·ep 4 = 8");
    }

    private static List<Double> losses(Path out) {
        return TrainFixtures.metrics(out).stream().map(row -> row.get("loss").asDouble()).toList();
    }
}
