package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.GptNeo;
import org.gptneo.io.SafeTensorsFile;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogitsCommandTest {
    private static final int VOCAB = 32;

    @TempDir
    Path dir;
    Path config;
    Path out;

    @BeforeEach
    void tinyModelFile() throws Exception {
        config = Files.writeString(dir.resolve("tiny.yaml"), """
                vocab-size: 32
                context-length: 16
                hidden-size: 16
                layers: 2
                heads: 2
                attention: [[[global, local], 1]]
                window-size: 4
                seed: 5
                """);
        out = dir.resolve("out.safetensors");
    }

    @Test
    void writesLogitsAndAFiniteLoss() {
        Cli r = Cli.run("logits", "--config", config.toString(), "--ids", "1,2,3;4,5,6", "--out", out.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEmpty();
        try (SafeTensorsFile file = SafeTensorsFile.open(out)) {
            assertThat(file.names()).containsExactlyInAnyOrder("logits", "loss");
            assertThat(file.dtypeName("logits")).isEqualTo("F32");
            assertThat(file.shape("logits")).containsExactly(2, 3, VOCAB);
            assertThat(file.shape("loss")).containsExactly(1);
            float loss = file.tensor("loss").getFloat(0);
            assertThat(loss).isFinite();
            // a random model predicts roughly uniformly: loss near ln(V)
            assertThat((double) loss).isBetween(Math.log(VOCAB) - 0.5, Math.log(VOCAB) + 0.5);
            for (float v : file.tensor("logits").toFloatArray()) {
                assertThat(v).isFinite();
            }
        }
    }

    @Test
    void gradsCoverEveryParameterWithItsShape() {
        Cli r = Cli.run("logits", "--config", config.toString(), "--ids", "1,2,3,4;5,6,7,8", "--out", out.toString(), "--grads");
        assertThat(r.exitCode()).as(r.err()).isZero();
        GptNeoConfig c = GptNeo.fromConfigFile(config).config();
        Map<String, int[]> shapes = GptNeoModel.parameterShapes(c);
        try (SafeTensorsFile file = SafeTensorsFile.open(out)) {
            assertThat(file.names()).hasSize(2 + shapes.size()).contains("logits", "loss");
            shapes.forEach((name, shape) -> {
                assertThat(file.contains("grad." + name)).as(name).isTrue();
                assertThat(file.shape("grad." + name)).as(name)
                        .containsExactly(java.util.Arrays.stream(shape).asLongStream().toArray());
            });
            float[] wte = file.tensor("grad.transformer.wte.weight").toFloatArray();
            double sumOfSquares = 0;
            for (float v : wte) {
                assertThat(v).isFinite();
                sumOfSquares += (double) v * v;
            }
            assertThat(sumOfSquares).as("the embedding gradient is not all zero").isPositive();
        }
    }

    @Test
    void aSavedModelGivesTheSameLogitsAsTheModelFileItCameFrom() throws Exception {
        Path folder = dir.resolve("model");
        try (GptNeoModel model = GptNeo.fromConfigFile(config).build()) {
            HfCheckpoint.save(model, folder);
        }
        Path fromFolder = dir.resolve("folder.safetensors");
        assertThat(Cli.run("logits", "--model", folder.toString(), "--ids", "7,8,9", "--out", fromFolder.toString()).exitCode()).isZero();
        assertThat(Cli.run("logits", "--config", config.toString(), "--ids", "7,8,9", "--out", out.toString()).exitCode()).isZero();
        try (SafeTensorsFile a = SafeTensorsFile.open(fromFolder); SafeTensorsFile b = SafeTensorsFile.open(out)) {
            assertThat(a.tensor("logits").toFloatArray()).containsExactly(b.tensor("logits").toFloatArray());
        }
    }

    @Test
    void singleTokenRowsGiveANanLossAndGradsRefuseThem() {
        Cli r = Cli.run("logits", "--config", config.toString(), "--ids", "3;4", "--out", out.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        try (SafeTensorsFile file = SafeTensorsFile.open(out)) {
            assertThat(file.shape("logits")).containsExactly(2, 1, VOCAB);
            assertThat(file.tensor("loss").getFloat(0)).isNaN();
        }
        Cli grads = Cli.run("logits", "--config", config.toString(), "--ids", "3", "--out", out.toString(), "--grads");
        assertOneLineError(grads, "at least 2 ids");
    }

    @Test
    void unequalRowsAreAOneLineError() {
        assertOneLineError(Cli.run("logits", "--config", config.toString(), "--ids", "1,2;3", "--out", out.toString()),
                "row 2 has 1 ids but row 1 has 2");
        assertThat(out).doesNotExist();
    }

    @Test
    void aBadTokenIsNamed() {
        assertOneLineError(Cli.run("logits", "--config", config.toString(), "--ids", "1,2;3,x4", "--out", out.toString()),
                "'x4' (row 2, position 2) is not an integer token id");
        assertOneLineError(Cli.run("logits", "--config", config.toString(), "--ids", "1,2;", "--out", out.toString()),
                "row 2 is empty");
    }

    @Test
    void outOfRangeIdsGetTheModelsError() {
        assertOneLineError(Cli.run("logits", "--config", config.toString(), "--ids", "1,32", "--out", out.toString()),
                "token id 32 at [0, 1] is outside the vocabulary [0, 32)");
        assertOneLineError(Cli.run("logits", "--config", config.toString(), "--ids", "-1,2", "--out", out.toString()),
                "token id -1");
        assertThat(out).doesNotExist();
    }

    @Test
    void tooLongRowsGetTheModelsError() {
        String ids = String.join(",", java.util.Collections.nCopies(17, "1"));
        assertOneLineError(Cli.run("logits", "--config", config.toString(), "--ids", ids, "--out", out.toString()),
                "exceeds the context length 16");
    }

    @Test
    void aMissingModelFolderIsAOneLineError() {
        assertOneLineError(Cli.run("logits", "--model", dir.resolve("absent").toString(), "--ids", "1,2", "--out", out.toString()),
                "no such model folder");
    }

    @Test
    void aMissingOutputFolderIsAOneLineError() {
        Path nowhere = dir.resolve("no/such/dir/out.safetensors");
        Cli r = Cli.run("logits", "--config", config.toString(), "--ids", "1,2", "--out", nowhere.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.errLines()).singleElement().asString().startsWith("gptneo: ");
    }

    @Test
    void missingRequiredOptionsAreUsageErrors() {
        assertThat(Cli.run("logits", "--config", config.toString(), "--ids", "1,2").exitCode()).isEqualTo(2);
        assertThat(Cli.run("logits", "--ids", "1,2", "--out", out.toString()).exitCode()).isEqualTo(2);
    }

    private static void assertOneLineError(Cli r, String fragment) {
        assertThat(r.exitCode()).as(r.err()).isEqualTo(1);
        assertThat(r.errLines()).singleElement().asString().startsWith("gptneo: ").contains(fragment);
        assertThat(r.out()).isEmpty();
    }

    @Test
    void labelsWithALeadingMinusParseAndIgnoredPositionsChangeTheLoss() {
        assertThat(Cli.run("logits", "--config", config.toString(), "--ids", "1,2,3,4", "--out", out.toString()).exitCode()).isZero();
        float all = loss(out);
        Path ignored = dir.resolve("ignored.safetensors");
        Cli r = Cli.run("logits", "--config", config.toString(), "--ids", "1,2,3,4", "--labels", "-100,2,-100,4", "--out", ignored.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(loss(ignored)).isFinite().isNotEqualTo(all);
        Path same = dir.resolve("same.safetensors");
        assertThat(Cli.run("logits", "--config", config.toString(), "--ids", "1,2,3,4", "--labels", "1,2,3,4", "--out", same.toString())
                .exitCode()).isZero();
        assertThat(loss(same)).isEqualTo(all);
        assertOneLineError(Cli.run("logits", "--config", config.toString(), "--ids", "1,2,3,4", "--labels", "1,2", "--out", out.toString()),
                "--labels has 1 rows of 2 but --ids has 1 rows of 4 (they must have the same shape)");
    }

    @Test
    void aMaskedLmModelWritesALossOnlyForItsLabels() throws Exception {
        Path mlm = Files.writeString(dir.resolve("mlm.yaml"), Files.readString(config) + "objective: masked_lm\nmask-token-id: 31\n");
        assertThat(Cli.run("logits", "--config", mlm.toString(), "--ids", "1,31,3", "--out", out.toString()).exitCode()).isZero();
        try (SafeTensorsFile file = SafeTensorsFile.open(out)) {
            assertThat(file.names()).containsExactly("logits");
        }
        Cli r = Cli.run("logits", "--config", mlm.toString(), "--ids", "1,31,3", "--labels", "-100,2,-100", "--out", out.toString(), "--grads");
        assertThat(r.exitCode()).as(r.err()).isZero();
        try (SafeTensorsFile file = SafeTensorsFile.open(out)) {
            assertThat(file.names()).contains("logits", "loss", "grad.transformer.wte.weight");
            assertThat(file.tensor("loss").getFloat(0)).isFinite();
        }
        assertOneLineError(Cli.run("logits", "--config", mlm.toString(), "--ids", "1,31,3", "--out", out.toString(), "--grads"),
                "--grads on a masked-LM model needs --labels: without them there is no loss");
    }

    private static float loss(Path file) {
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            return f.tensor("loss").getFloat(0);
        }
    }
}
