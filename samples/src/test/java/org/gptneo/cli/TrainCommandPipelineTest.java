package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.gptneo.GptNeo;
import org.gptneo.autograd.Var;
import org.gptneo.model.GptNeoModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gptneo train --parallel pp=2} and {@code tp=2,pp=2}: in-process pipeline stages (split over
 * two tensor-parallel ranks in the second run) train a two-layer model and save what one process
 * saves, within float tolerance (see PipelineTrainingTest and ParallelLayoutTrainingTest).
 */
class TrainCommandPipelineTest {

    @Test
    void pipelineStagesSaveTheModelOneProcessSaves(@TempDir Path dir) throws IOException {
        Path modelFile = TrainFixtures.twoLayerModelFile(dir);
        Path data = TrainFixtures.text(dir.resolve("data.txt"), 60, 1);
        Path single = dir.resolve("single"), staged = dir.resolve("staged"), split = dir.resolve("split");
        String[] common = {"train", "--config", modelFile.toString(), "--data", data.toString(), "--steps", "2", "--batch-size", "2",
                "--accumulate", "2", "--seq-len", "16", "--lr", "1e-2"};
        Cli one = Cli.run(concat(common, "--out", single.toString()));
        Cli two = Cli.run(concat(common, "--out", staged.toString(), "--parallel", "pp=2"));
        Cli four = Cli.run(concat(common, "--out", split.toString(), "--parallel", "tp=2,pp=2"));
        assertThat(one.exitCode()).as(one.err()).isZero();
        assertThat(two.exitCode()).as(two.err()).isZero();
        assertThat(four.exitCode()).as(four.err()).isZero();
        assertThat(two.err()).contains("on 2 pipeline stages (in-process)");
        assertThat(four.err()).contains("on 4 ranks, tp=2 × pp=2 (in-process)");
        for (Path out : new Path[] {staged, split}) {
            assertThat(out.resolve("checkpoint-2")).isDirectory();
            try (GptNeoModel a = GptNeo.load(single); GptNeoModel b = GptNeo.load(out)) {
                Map<String, Var> expected = a.parameters();
                b.parameters().forEach((name, p) -> assertThat(maxDifference(p.value().toFloatArray(), expected.get(name).value().toFloatArray()))
                        .as("%s: %s", out.getFileName(), name).isLessThanOrEqualTo(1e-5));
            }
        }
    }

    /** max |a − b| over two arrays of one length (a plain loop: the embedding has 50257 × 16 elements). */
    private static double maxDifference(float[] a, float[] b) {
        assertThat(a).hasSameSizeAs(b);
        double max = 0;
        for (int i = 0; i < a.length; i++) max = Math.max(max, Math.abs((double) a[i] - b[i]));
        return max;
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
