package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.gptneo.io.SafeTensorsFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code gptneo train --resume}: a run continued from a checkpoint ends as the uninterrupted run did. */
class TrainCommandResumeTest {
    @TempDir
    Path dir;

    @Test
    void aResumedRunRepeatsTheUninterruptedOne() throws Exception {
        Path modelFile = TrainFixtures.modelFile(dir);
        Path data = TrainFixtures.text(dir.resolve("data.txt"), 60, 2);
        Path out = dir.resolve("out");
        String[] args = {"train", "--config", modelFile.toString(), "--data", data.toString(), "--steps", "4", "--batch-size", "2",
            "--seq-len", "16", "--lr", "1e-2", "--warmup", "1", "--schedule", "cosine", "--checkpoint-every", "2", "--out", out.toString()};
        Cli first = Cli.run(args);
        assertThat(first.exitCode()).as(first.err()).isZero();
        assertThat(out.resolve("checkpoint-2")).isDirectory();
        assertThat(out.resolve("checkpoint-4")).isDirectory();
        List<JsonNode> uninterrupted = withoutSpeed(TrainFixtures.metrics(out));
        float[] weights = weights(out.resolve("model.safetensors"));

        // as if the run had died after its checkpoint at step 2
        TrainCommandTest.deleteTree(out.resolve("checkpoint-4"));
        for (String file : List.of("model.safetensors", "config.json", "vocab.json", "merges.txt", "loss.png")) {
            Files.delete(out.resolve(file));
        }
        String[] resume = append(args, "--resume");
        Cli resumed = Cli.run(resume);
        assertThat(resumed.exitCode()).as(resumed.err()).isZero();
        assertThat(resumed.err()).contains("step 4/4").doesNotContain("step 1/4").doesNotContain("step 2/4");
        assertThat(withoutSpeed(TrainFixtures.metrics(out))).isEqualTo(uninterrupted);
        assertThat(weights(out.resolve("model.safetensors"))).isEqualTo(weights);
        assertThat(out.resolve("loss.png")).isRegularFile();

        // resuming a finished run trains nothing and leaves the same files
        Cli again = Cli.run(resume);
        assertThat(again.exitCode()).as(again.err()).isZero();
        assertThat(again.out()).startsWith("done after 4 steps (all in the checkpoint resumed from)");
        assertThat(withoutSpeed(TrainFixtures.metrics(out))).isEqualTo(uninterrupted);
        assertThat(weights(out.resolve("model.safetensors"))).isEqualTo(weights);
    }

    private static List<JsonNode> withoutSpeed(List<JsonNode> rows) {
        return rows.stream().map(r -> (JsonNode) ((ObjectNode) r.deepCopy()).without("tokens_per_s")).toList();
    }

    /** Every tensor of a safetensors file, in name order, as one array. */
    private static float[] weights(Path file) {
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            FloatBuffer all = FloatBuffer.allocate(f.names().stream().mapToInt(n -> f.tensor(n).toFloatArray().length).sum());
            f.names().stream().sorted().forEach(n -> all.put(f.tensor(n).toFloatArray()));
            return all.array();
        }
    }

    private static String[] append(String[] args, String more) {
        String[] all = Arrays.copyOf(args, args.length + 1);
        all[args.length] = more;
        return all;
    }
}
