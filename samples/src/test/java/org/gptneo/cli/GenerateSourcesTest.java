package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.StreamSupport;
import org.gptneo.GptNeo;
import org.gptneo.generate.Generation;
import org.gptneo.generate.GenerationConfig;
import org.gptneo.generate.Generator;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** generate with --preset and --config (random weights, GPT-2's built-in tokenizer), and several --ids rows as a batch. */
class GenerateSourcesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static Path config;

    @BeforeAll
    static void modelFile() {
        config = TinyModelFile.write(dir, "seed: 3\n");
    }

    private static List<Generation> direct(List<int[]> prompts, GenerationConfig generation) {
        try (GptNeoModel model = GptNeo.fromConfigFile(config).build()) {
            return new Generator(model, Gpt2Tokenizer.builtIn()).generateBatch(prompts, generation);
        }
    }

    private static int[] ids(JsonNode node) {
        return StreamSupport.stream(node.get("ids").spliterator(), false).mapToInt(JsonNode::asInt).toArray();
    }

    @Test
    void aPresetGeneratesWithRandomWeightsAndTheBuiltInTokenizer() throws Exception {
        Cli r = Cli.run("generate", "--preset", "125M", "--prompt", "Hello world", "--max-new-tokens", "2", "--json");
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode node = JSON.readTree(r.out());
        int[] ids = ids(node);
        assertThat(ids).hasSize(2);
        assertThat(java.util.Arrays.stream(ids).boxed().toList()).allSatisfy(id -> assertThat(id).isBetween(0, 50256));
        assertThat(node.get("text").asText()).isEqualTo(Gpt2Tokenizer.builtIn().decode(ids));
    }

    @Test
    void twoRowsWithJsonPrintOneObjectPerRowAsTheBatchGenerates() throws Exception {
        Cli r = Cli.run("generate", "--config", config.toString(), "--ids", "1, 2, 3; 4", "--max-new-tokens", "6", "--json");
        assertThat(r.exitCode()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(2);
        List<Generation> expected = direct(List.of(new int[] {1, 2, 3}, new int[] {4}), GenerationConfig.greedy(6));
        for (int i = 0; i < 2; i++) {
            JsonNode node = JSON.readTree(lines.get(i));
            assertThat(node.properties()).extracting(java.util.Map.Entry::getKey).containsExactly("ids", "text");
            assertThat(ids(node)).as("row %d", i).containsExactly(expected.get(i).ids());
            assertThat(node.get("text").asText()).isEqualTo(expected.get(i).text());
        }
        assertThat(lines.get(0)).as("the rows differ").isNotEqualTo(lines.get(1));
    }

    @Test
    void twoRowsWithoutJsonPrintEachTextOnItsOwnLine() {
        Cli r = Cli.run("generate", "--config", config.toString(), "--ids", "1,2,3;4", "--max-new-tokens", "6",
                "--temperature", "1.5", "--seed", "9");
        assertThat(r.exitCode()).as(r.err()).isZero();
        List<Generation> expected = direct(List.of(new int[] {1, 2, 3}, new int[] {4}),
                GenerationConfig.sampling(6, 1.5f, 0, 1f, 9));
        assertThat(r.out()).isEqualTo(expected.get(0).text() + System.lineSeparator() + expected.get(1).text()
                + System.lineSeparator());
    }

    @Test
    void aRowOutsideTheVocabularyOrContextIsNamed() {
        TokenizeCommandTest.assertOneLineError(
                Cli.run("generate", "--config", config.toString(), "--ids", "1;2,300", "--max-new-tokens", "2"),
                "--ids: token id 300 (row 2, position 2) is outside the model's vocabulary [0, 300)");
        TokenizeCommandTest.assertOneLineError(
                Cli.run("generate", "--config", config.toString(), "--ids", "1;2", "--max-new-tokens", "32"),
                "1 prompt token + 32 new tokens exceed the model's context length 32");
    }

    @Test
    void randomWeightsRefuseAnotherDtype() {
        Cli r = Cli.run("generate", "--config", config.toString(), "--ids", "1", "--max-new-tokens", "2", "--dtype", "bf16");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.errLines().getFirst()).isEqualTo("gptneo: --dtype bf16 needs --model: random weights (--preset, --config) are F32");
    }
}
