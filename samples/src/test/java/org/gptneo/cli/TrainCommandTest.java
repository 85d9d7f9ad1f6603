package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.api.Assertions.withinPercentage;
import static org.gptneo.cli.TokenizeCommandTest.assertOneLineError;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.gptneo.GptNeo;
import org.gptneo.model.GptNeoModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code gptneo train} of a whole (tiny) model, end to end, and its usage errors. */
class TrainCommandTest {
    @TempDir
    static Path dir;
    static Path modelFile, data, out;
    static Cli run;

    /** One full run the tests below look at: 4 steps, an evaluation every 2. */
    @BeforeAll
    static void train() {
        modelFile = TrainFixtures.modelFile(dir);
        data = TrainFixtures.text(dir.resolve("data.txt"), 60, 1);
        out = dir.resolve("out");
        run = Cli.run("train", "--config", modelFile.toString(), "--data", data.toString(), "--steps", "4", "--batch-size", "2",
                "--seq-len", "16", "--lr", "1e-2", "--eval-every", "2", "--out", out.toString());
    }

    private static String[] trainArgs(Path outDir, String... more) {
        List<String> all = new ArrayList<>(List.of("train", "--config", modelFile.toString(), "--data", data.toString(),
                "--steps", "4", "--batch-size", "2", "--seq-len", "16", "--lr", "1e-2", "--out", outDir.toString()));
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    @Test
    void writesTheModelTokenizerMetricsAndPlot() {
        assertThat(run.exitCode()).as(run.err()).isZero();
        for (String file : List.of("metrics.jsonl", "config.json", "model.safetensors", "vocab.json", "merges.txt", "loss.png")) {
            assertThat(out.resolve(file)).as(file).isRegularFile();
        }
        assertThat(out.resolve("checkpoint-4")).isDirectory();
        assertThat(out.resolve("adapter_config.json")).doesNotExist();
        assertThat(run.out().lines().toList()).hasSize(2);
        assertThat(run.out()).startsWith("done after 4 steps: loss ").contains("eval loss").contains("saved " + out);
    }

    @Test
    void metricsHaveOneRowPerStepAndOnePerEvaluation() {
        List<JsonNode> rows = TrainFixtures.metrics(out);
        List<JsonNode> steps = rows.stream().filter(r -> r.has("loss")).toList();
        List<JsonNode> evals = rows.stream().filter(r -> r.has("eval_loss")).toList();
        assertThat(steps).hasSize(4);
        assertThat(evals).hasSize(2);
        assertThat(rows).hasSize(6);
        for (int i = 0; i < steps.size(); i++) {
            JsonNode row = steps.get(i);
            assertThat(fieldNames(row)).containsExactly("step", "loss", "lr", "grad_norm", "tokens_per_s");
            assertThat(row.get("step").asInt()).isEqualTo(i + 1);
            assertThat(row.get("loss").asDouble()).isFinite().isPositive();
            assertThat(row.get("grad_norm").asDouble()).isFinite().isPositive();
            assertThat(row.get("tokens_per_s").asDouble()).isFinite().isPositive();
            // the default schedule: no warm-up, then linear decay from --lr to 0 over the 4 steps
            assertThat(row.get("lr").asDouble()).isCloseTo(1e-2 * (4 - i) / 4, within(1e-9));
        }
        assertThat(evals.stream().map(r -> r.get("step").asInt())).containsExactly(2, 4);
        for (JsonNode row : evals) {
            assertThat(fieldNames(row)).containsExactly("step", "eval_loss", "perplexity");
            assertThat(row.get("perplexity").asDouble()).isCloseTo(Math.exp(row.get("eval_loss").asDouble()),
                    withinPercentage(1e-6));
        }
        // an evaluation row follows its step's training row
        assertThat(rows.get(2).has("eval_loss")).isTrue();
        assertThat(rows.get(2).get("step").asInt()).isEqualTo(2);
    }

    @Test
    void theSavedFolderLoadsAndScores() {
        try (GptNeoModel model = GptNeo.load(out)) {
            assertThat(model.config().hiddenSize()).isEqualTo(16);
            assertThat(model.config().vocabSize()).isEqualTo(50257);
        }
        JsonNode row = TrainFixtures.perplexity("--model", out.toString(), "--data", data.toString(), "--seq-len", "16");
        assertThat(row.get("seq_len").asInt()).isEqualTo(16);
        assertThat(row.get("stride").asInt()).isEqualTo(8);
        assertThat(row.get("tokens").asLong()).isPositive();
        assertThat(row.get("perplexity").asDouble()).isCloseTo(Math.exp(row.get("mean_nll").asDouble()),
                withinPercentage(1e-6));
    }

    @Test
    void theLossPlotIsAPng() throws Exception {
        byte[] png = Files.readAllBytes(out.resolve("loss.png"));
        assertThat(png.length).isGreaterThan(5_000);
        assertThat(Arrays.copyOf(png, 8)).containsExactly(0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n');
        BufferedImage image = ImageIO.read(out.resolve("loss.png").toFile());
        assertThat(image.getWidth()).isEqualTo(900);
        assertThat(image.getHeight()).isEqualTo(500);
    }

    @Test
    void progressIsPlainLinesWhenStderrIsNotATerminal() {
        assertThat(run.err()).doesNotContain("\r").doesNotContain("\033");
        List<String> lines = run.errLines();
        assertThat(lines.getFirst()).startsWith(data.getFileName() + ": ").contains(" tokens");
        assertThat(lines.get(1)).matches("training [0-9,]+ of [0-9,]+ parameters for 4 steps");
        assertThat(lines).anyMatch(l -> l.matches("step 1/4  loss \\d+\\.\\d{4}  lr 1\\.00e-02  \\d+ tokens/s  ETA \\d+:\\d\\d:\\d\\d"));
        assertThat(lines).anyMatch(l -> l.matches("step 4/4  loss \\d+\\.\\d{4}  lr 2\\.50e-03  \\d+ tokens/s  ETA 0:00:00"));
        assertThat(lines).anyMatch(l -> l.matches("eval at step 2: loss \\d+\\.\\d{4}  perplexity \\d+\\.\\d\\d"));
        assertThat(lines).anyMatch(l -> l.startsWith("eval at step 4: "));
    }

    @Test
    void aMissingDataFileIsOneLine() {
        Path missing = dir.resolve("no-such.txt");
        Cli r = Cli.run("train", "--config", modelFile.toString(), "--data", missing.toString(), "--steps", "1",
                "--out", dir.resolve("unused").toString());
        assertOneLineError(r, missing + ": no such file or folder");
        assertThat(dir.resolve("unused")).doesNotExist();
    }

    @Test
    void anUnknownScheduleIsOneLine() {
        Cli r = Cli.run(trainArgs(dir.resolve("unused"), "--schedule", "exponential"));
        assertOneLineError(r, "--schedule must be cosine, linear or constant, got 'exponential'");
    }

    @Test
    void loraOptionsWithoutARankAreOneLine() {
        assertOneLineError(Cli.run(trainArgs(dir.resolve("unused"), "--lora-alpha", "16")), "need --lora-rank");
        assertOneLineError(Cli.run(trainArgs(dir.resolve("unused"), "--lora-targets", "q_proj")), "need --lora-rank");
    }

    @Test
    void aSequenceLongerThanTheContextIsOneLine() {
        List<String> args = new ArrayList<>(List.of(trainArgs(dir.resolve("unused"))));
        args.set(args.indexOf("--seq-len") + 1, "64");
        assertOneLineError(Cli.run(args.toArray(String[]::new)), "--seq-len 64 exceeds the model's context length 32");
    }

    @Test
    void anOutputFolderWithCheckpointsNeedsResume() {
        Cli r = Cli.run(trainArgs(out));
        assertOneLineError(r, out + " already holds checkpoints (newest checkpoint-4): add --resume");
    }

    @Test
    void aResumeWithOtherSettingsIsOneLine() throws Exception {
        Path copy = dir.resolve("other-settings");
        Files.createDirectories(copy);
        copyTree(out.resolve("checkpoint-4"), copy.resolve("checkpoint-4"));
        Cli r = Cli.run(trainArgs(copy, "--resume", "--seed", "43"));
        // after the lines describing the data and the model, one line naming the setting
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.errLines()).filteredOn(l -> l.startsWith("gptneo: ")).singleElement().isEqualTo(r.errLines().getLast());
        assertThat(r.errLines().getLast()).contains("cannot resume from " + copy.resolve("checkpoint-4") + " with other settings:")
                .contains("seed is 43 now but 42 in the checkpoint");
    }

    @Test
    void aMissingOptionIsAUsageError() {
        Cli r = Cli.run("train", "--config", modelFile.toString(), "--data", data.toString(), "--out", dir.resolve("unused").toString());
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.errLines()).hasSize(2);
        assertThat(r.errLines().getFirst()).startsWith("gptneo: ").contains("--steps");
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path p : files.toList()) {
                Files.copy(p, to.resolve(from.relativize(p).toString()));
            }
        }
    }

    static void deleteTree(Path root) throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    static List<String> fieldNames(JsonNode row) {
        List<String> names = new ArrayList<>();
        row.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
