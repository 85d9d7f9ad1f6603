package org.gptneo.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.gptneo.model.GptNeoModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Resume gives exactly the loss curve of an uninterrupted run: after a cancel, and after the
 * process was killed with SIGKILL while a checkpoint was being written.
 */
class TrainerResumeTest {

    @Test
    void sameSeedGivesTheSameCurveBitForBit(@TempDir Path a, @TempDir Path b) {
        assertThat(uninterrupted(a)).isEqualTo(uninterrupted(b)).hasSize(TinyRun.STEPS + 2);
    }

    @Test
    void cancelSavesACheckpointAndResumeContinuesTheSameCurve(@TempDir Path whole, @TempDir Path cut) {
        List<String> expected = uninterrupted(whole);
        TrainingResult first;
        try (GptNeoModel model = TinyRun.model(3)) {
            Trainer[] trainer = new Trainer[1];
            trainer[0] = TinyRun.trainer(model, cut).listener(new TrainerListener() {
                @Override public void onStep(StepMetrics m) { if (m.step() == 3) trainer[0].cancel(); }
            }).build();
            first = trainer[0].fit();
        }
        assertThat(first.status()).isEqualTo(TrainingResult.Status.CANCELLED);
        assertThat(first.steps()).isEqualTo(3);
        assertThat(first.lastCheckpoint()).contains(cut.resolve("checkpoint-3"));
        try (GptNeoModel other = TinyRun.model(99)) {      // different initial weights: the checkpoint's must win
            TrainingResult rest = TinyRun.trainer(other, cut).resume(true).build().fit();
            assertThat(rest.status()).isEqualTo(TrainingResult.Status.COMPLETED);
        }
        assertThat(TinyRun.curve(cut)).isEqualTo(expected);
    }

    @Test
    void resumeAfterSigkillDuringACheckpointWriteIgnoresTheHalfWrittenOne(@TempDir Path whole, @TempDir Path killed) throws Exception {
        List<String> expected = uninterrupted(whole);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), TinyRun.class.getName(), killed.toString(), "6")
                .redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            StringBuilder seen = new StringBuilder();
            while ((line = out.readLine()) != null && !line.startsWith("PAUSED")) seen.append(line).append('\n');
            assertThat(line).as("the child's output:\n%s", seen).startsWith("PAUSED");
            child.destroyForcibly();                                   // SIGKILL on Linux
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        } finally {
            child.destroyForcibly();
        }
        assertThat(killed.resolve(".checkpoint-6.partial")).isDirectory();
        assertThat(new CheckpointStore(killed, 0).newest()).contains(killed.resolve("checkpoint-4"));

        try (GptNeoModel model = TinyRun.model(3)) {
            TinyRun.trainer(model, killed).resume(true).build().fit();
        }
        assertThat(killed.resolve(".checkpoint-6.partial")).doesNotExist();
        assertThat(TinyRun.curve(killed)).isEqualTo(expected);
    }

    @Test
    void keepsOnlyTheNewestCheckpoints(@TempDir Path out) throws Exception {
        try (GptNeoModel model = TinyRun.model(3)) {
            TinyRun.trainer(model, out).keepCheckpoints(2).build().fit();
        }
        try (var children = Files.list(out)) {
            assertThat(children.map(p -> p.getFileName().toString()).sorted())
                    .containsExactly("checkpoint-6", "checkpoint-8", MetricsLog.FILE);
        }
        assertThat(out.resolve("checkpoint-8").resolve("model.safetensors")).isRegularFile();
        assertThat(out.resolve("checkpoint-8").resolve(TrainingCheckpoint.OPTIMIZER)).isRegularFile();
        assertThat(out.resolve("checkpoint-8").resolve(TrainerState.FILE)).isRegularFile();
    }

    @Test
    void refusesToOverwriteCheckpointsOrToResumeWithOtherSettings(@TempDir Path out) {
        try (GptNeoModel model = TinyRun.model(3)) {
            TinyRun.trainer(model, out).build().fit();
        }
        try (GptNeoModel model = TinyRun.model(3)) {
            assertThatThrownBy(() -> TinyRun.trainer(model, out).build().fit())
                    .hasMessageContaining("already holds checkpoints (newest checkpoint-8)");
            assertThatThrownBy(() -> TinyRun.trainer(model, out).learningRate(2e-2).resume(true).build().fit())
                    .hasMessageContaining("learningRate is 0.02 now but 0.01 in the checkpoint");
        }
    }

    private static List<String> uninterrupted(Path out) {
        try (GptNeoModel model = TinyRun.model(3)) {
            TinyRun.trainer(model, out).build().fit();
        }
        return TinyRun.curve(out);
    }
}
