package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.gptneo.cli.TokenizeCommandTest.assertOneLineError;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.StreamSupport;
import org.gptneo.GptNeo;
import org.gptneo.backend.Backends;
import org.gptneo.generate.Generation;
import org.gptneo.generate.GenerationConfig;
import org.gptneo.generate.Generator;
import org.gptneo.generate.TokenListener;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.io.LoadOptions;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerateCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CONTEXT = 32;

    @TempDir
    static Path dir;
    static Path folder;

    /** A small random model (vocabulary 300: ids below 300 are bytes and early merges of the GPT-2 tokenizer). */
    @BeforeAll
    static void tinyModelFolder() {
        folder = dir.resolve("tiny");
        try (GptNeoModel model = GptNeo.builder().vocabSize(300).contextLength(CONTEXT).hiddenSize(16).layers(2).heads(2)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(4).initializerRange(0.5f).seed(3).build()) {
            HfCheckpoint.save(model, folder);
        }
    }

    private static Cli generate(String... args) {
        List<String> all = new ArrayList<>(List.of("generate", "--model", folder.toString()));
        all.addAll(List.of(args));
        return Cli.run(all.toArray(String[]::new));
    }

    private static Generation direct(int[] prompt, GenerationConfig config) {
        try (GptNeoModel model = HfCheckpoint.load(folder, Backends.defaultBackend(), LoadOptions.defaults())) {
            return new Generator(model, Gpt2Tokenizer.fromFolder(folder)).generate(prompt, config, TokenListener.NONE);
        }
    }

    private static JsonNode json(Cli r) throws Exception {
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out().lines().toList()).hasSize(1);
        assertThat(r.out()).endsWith("\n");
        JsonNode node = JSON.readTree(r.out());
        assertThat(node.properties()).extracting(java.util.Map.Entry::getKey).containsExactly("ids", "text");
        return node;
    }

    private static int[] ids(JsonNode node) {
        return StreamSupport.stream(node.get("ids").spliterator(), false).mapToInt(JsonNode::asInt).toArray();
    }

    @Test
    void jsonGreedyGivesTheGeneratorsIdsAndText() throws Exception {
        Generation expected = direct(new int[] {1, 2, 3}, GenerationConfig.greedy(12));
        assertThat(expected.ids()).as("a non-trivial continuation").hasSizeGreaterThan(2);
        for (Cli r : List.of(generate("--ids", "1,2,3", "--max-new-tokens", "12", "--json"),
                generate("--ids", "1,2,3", "--max-new-tokens", "12", "--json", "--greedy"))) {
            JsonNode node = json(r);
            assertThat(ids(node)).containsExactly(expected.ids());
            assertThat(node.get("text").asText()).isEqualTo(expected.text());
        }
    }

    @Test
    void aTextPromptIsEncodedWithTheFoldersTokenizer() throws Exception {
        int[] prompt = Gpt2Tokenizer.builtIn().encode("a b c");
        assertThat(prompt).containsExactly(64, 275, 269);
        JsonNode node = json(generate("--prompt", "a b c", "--max-new-tokens", "6", "--json"));
        assertThat(ids(node)).containsExactly(direct(prompt, GenerationConfig.greedy(6)).ids());
    }

    @Test
    void streamingPrintsExactlyTheJsonText() throws Exception {
        for (String[] mode : List.of(new String[] {"--greedy"}, new String[] {"--temperature", "1.3", "--seed", "5"})) {
            List<String> args = new ArrayList<>(List.of("--ids", "7,8", "--max-new-tokens", "20"));
            Collections.addAll(args, mode);
            Cli streamed = generate(args.toArray(String[]::new));
            assertThat(streamed.exitCode()).as(streamed.err()).isZero();
            assertThat(streamed.err()).isEmpty();
            args.add("--json");
            assertThat(streamed.out()).isEqualTo(json(generate(args.toArray(String[]::new))).get("text").asText());
        }
    }

    @Test
    void samplingIsReproducibleForASeedAndMatchesTheGenerator() throws Exception {
        String[] args = {"--ids", "4,5,6", "--max-new-tokens", "16", "--temperature", "1.5", "--top-k", "50", "--top-p", "0.95",
            "--seed", "7", "--json"};
        JsonNode first = json(generate(args));
        assertThat(json(generate(args))).isEqualTo(first);
        Generation expected = direct(new int[] {4, 5, 6}, GenerationConfig.sampling(16, 1.5f, 50, 0.95f, 7));
        assertThat(ids(first)).containsExactly(expected.ids());

        List<String> others = new ArrayList<>();
        for (int seed = 8; seed < 12; seed++) {
            args[args.length - 2] = Integer.toString(seed);
            others.add(json(generate(args)).get("ids").toString());
        }
        assertThat(others).as("other seeds sample other tokens").anyMatch(ids -> !ids.equals(first.get("ids").toString()));
    }

    @Test
    void theDefaultSeedIsZero() throws Exception {
        JsonNode implicit = json(generate("--ids", "9", "--max-new-tokens", "10", "--temperature", "2", "--json"));
        assertThat(json(generate("--ids", "9", "--max-new-tokens", "10", "--temperature", "2", "--seed", "0", "--json")))
                .isEqualTo(implicit);
    }

    @Test
    void aStopStringEndsTheTextAndTheStreamAlike() throws Exception {
        String full = json(generate("--ids", "1,2,3", "--max-new-tokens", "20", "--json")).get("text").asText();
        assertThat(full.length()).isGreaterThan(4);
        String stop = full.substring(2, 4);
        String expected = full.substring(0, full.indexOf(stop) + stop.length());
        JsonNode stopped = json(generate("--ids", "1,2,3", "--max-new-tokens", "20", "--stop", stop, "--json"));
        assertThat(stopped.get("text").asText()).isEqualTo(expected);
        assertThat(generate("--ids", "1,2,3", "--max-new-tokens", "20", "--stop", "\u0000never", "--stop", stop).out())
                .isEqualTo(expected);
    }

    @Test
    void aPromptTooLongForTheContextIsAOneLineError() {
        String ids = String.join(",", Collections.nCopies(30, "5"));
        assertOneLineError(generate("--ids", ids, "--max-new-tokens", "3"),
                "30 prompt tokens + 3 new tokens exceed the model's context length " + CONTEXT);
    }

    @Test
    void badPromptsAndFoldersAreOneLineErrors() {
        assertOneLineError(generate("--prompt", "Hello world", "--max-new-tokens", "3"),
                "--prompt: token id 15496 (position 1) is outside the model's vocabulary [0, 300)");
        assertOneLineError(generate("--ids", "1,300", "--max-new-tokens", "3"), "token id 300 (position 2)");
        assertOneLineError(generate("--ids", "1,b", "--max-new-tokens", "3"), "'b' (position 2) is not an integer");
        assertOneLineError(generate("--prompt", "", "--max-new-tokens", "3"), "--prompt is empty");
        assertOneLineError(Cli.run("generate", "--model", dir.resolve("nope").toString(), "--ids", "1", "--max-new-tokens", "3"),
                "nope: no such model folder");
        assertOneLineError(Cli.run("generate", "--model", dir.toString(), "--ids", "1", "--max-new-tokens", "3"), "no config.json");
    }

    @Test
    void contradictoryOrInvalidOptionsAreUsageErrors() {
        assertThat(generate("--ids", "1", "--max-new-tokens", "3", "--greedy", "--temperature", "0.7").exitCode()).isEqualTo(2);
        assertThat(generate("--ids", "1", "--max-new-tokens", "3", "--greedy", "--top-p", "0.9").err())
                .contains("--greedy cannot be combined");
        assertThat(generate("--ids", "1", "--max-new-tokens", "3", "--temperature", "0").exitCode()).isEqualTo(2);
        assertThat(generate("--ids", "1", "--max-new-tokens", "3", "--top-p", "1.5").exitCode()).isEqualTo(2);
        assertThat(generate("--ids", "1", "--max-new-tokens", "3", "--dtype", "f16").exitCode()).isEqualTo(2);
        assertThat(generate("--ids", "1", "--max-new-tokens", "-1").exitCode()).isEqualTo(2);
        assertThat(generate("--ids", "1").exitCode()).isEqualTo(2);
        assertThat(generate("--ids", "1", "--prompt", "a", "--max-new-tokens", "3").exitCode()).isEqualTo(2);
        assertThat(Cli.run("generate", "--ids", "1", "--max-new-tokens", "3").exitCode()).isEqualTo(2);
    }

    @Test
    void bf16WeightsGenerate() throws Exception {
        JsonNode node = json(generate("--ids", "1,2,3", "--max-new-tokens", "5", "--dtype", "bf16", "--json"));
        assertThat(ids(node)).isNotEmpty();
    }

    @Test
    void q8NamesTheTensorWhoseRowsAreNotWholeBlocks() {
        Cli r = generate("--ids", "1,2,3", "--max-new-tokens", "5", "--dtype", "q8");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.errLines()).containsExactly("gptneo: model.safetensors: tensor 'transformer.wte.weight' cannot be stored as Q8:"
                + " Q8 stores rows in blocks of 32 elements: shape [300, 16] needs a last dimension that is a multiple of 32");
    }
}
