package org.gptneo.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.gptneo.GptNeo;
import org.gptneo.generate.Generation;
import org.gptneo.generate.GenerationConfig;
import org.gptneo.generate.Generator;
import org.gptneo.generate.TokenListener;
import org.gptneo.model.GptNeoModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the README's programs: TrainTinyModel trains and saves a folder, GenerateText continues a prompt with it. */
class SamplesRunTest {
    private static final Pattern STEP = Pattern.compile("step (\\d+) {2}loss (\\S+)");

    @TempDir
    static Path temp;
    static Path folder;
    static String trainOutput;

    @BeforeAll
    static void train() throws Exception {
        folder = temp.resolve("tiny");
        trainOutput = stdoutOf(() -> TrainTinyModel.main(new String[] {folder.toString()}));
    }

    @Test
    void trainingPrintsAFallingLossAndSavesAFolder() {
        List<String> lines = trainOutput.lines().toList();
        assertThat(lines).hasSize(11).last().isEqualTo("saved " + folder);
        float[] losses = new float[10];
        for (int i = 0; i < 10; i++) {
            Matcher m = STEP.matcher(lines.get(i));
            assertThat(m.matches()).as("line %d: %s", i + 1, lines.get(i)).isTrue();
            assertThat(Integer.parseInt(m.group(1))).isEqualTo(i + 1);
            losses[i] = Float.parseFloat(m.group(2));
        }
        assertThat(losses[0]).as("first loss").isBetween(9f, 12f);   // about ln(50257) = 10.8 for random weights
        assertThat(losses[9]).as("last loss").isLessThan(losses[0] - 1f);
        assertThat(folder.resolve("config.json")).isRegularFile();
        assertThat(folder.resolve("model.safetensors")).isRegularFile();
    }

    @Test
    void generationStreamsTheGreedyContinuation() throws Exception {
        Generation expected;
        try (GptNeoModel model = GptNeo.load(folder)) {
            expected = new Generator(model, GptNeo.tokenizer(folder)).generate("In a shocking finding, scientists discovered",
                    GenerationConfig.greedy(40), TokenListener.NONE);
        }
        String out = stdoutOf(() -> GenerateText.main(new String[] {folder.toString()}));
        assertThat(out).isEqualTo(expected.text() + System.lineSeparator()
                + expected.ids().length + " new tokens, finished by " + expected.finish() + System.lineSeparator());
        assertThat(expected.ids()).isNotEmpty();
    }

    interface Program {
        void run() throws Exception;
    }

    /** What {@code program} prints to System.out (swapped while it runs). */
    static synchronized String stdoutOf(Program program) throws Exception {
        PrintStream original = System.out;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            program.run();
        } finally {
            System.setOut(original);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
