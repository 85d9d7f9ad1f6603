package org.gptneo.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.gptneo.GptNeo;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.PositionEmbedding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the README's variants program: the loss falls, the saved folder loads back as the same variants and generates. */
class TrainVariantsTest {
    private static final Pattern STEP = Pattern.compile("step (\\d+) {2}loss (\\S+) {2}aux (\\S+) {2}dropped (\\S+)%");

    @TempDir
    Path dir;

    @Test
    void trainsSavesLoadsAndGenerates() throws Exception {
        Path folder = dir.resolve("variants");
        List<String> lines = SamplesRunTest.stdoutOf(() -> TrainVariants.main(new String[] {folder.toString()})).lines().toList();
        assertThat(lines).hasSize(4);
        float[] losses = new float[3];
        for (int i = 0; i < 3; i++) {
            Matcher m = STEP.matcher(lines.get(i));
            assertThat(m.matches()).as(lines.get(i)).isTrue();
            losses[i] = Float.parseFloat(m.group(2));
            assertThat(Float.parseFloat(m.group(3))).as("aux loss").isPositive();
        }
        assertThat(losses[2]).isLessThan(losses[0]);
        assertThat(lines.get(3)).startsWith("The keeper").hasSizeGreaterThan("The keeper".length());
        try (GptNeoModel model = GptNeo.load(folder)) {
            assertThat(model.config().positions().kind()).isEqualTo(PositionEmbedding.ROTARY);
            assertThat(model.config().attentionLayers()).containsExactly(AttentionType.LINEAR, AttentionType.GLOBAL,
                    AttentionType.LINEAR, AttentionType.GLOBAL);
            assertThat(model.config().moe().layers()).containsExactly(1, 3);
        }
    }
}
