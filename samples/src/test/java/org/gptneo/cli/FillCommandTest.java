package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.gptneo.cli.TokenizeCommandTest.assertOneLineError;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.gptneo.GptNeo;
import org.gptneo.backend.Backends;
import org.gptneo.generate.Filler;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.io.LoadOptions;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.Objective;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import org.gptneo.tokenizer.TokenizerWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code gptneo fill} on a small random masked-LM model over GPT-2's tokens and [MASK] (id 50257). */
class FillCommandTest {
    private static final String TEXT = "The [MASK] sat on the [MASK].";

    @TempDir
    static Path dir;
    static Path mlm, causal;

    @BeforeAll
    static void folders() {
        Gpt2Tokenizer tokenizer = Gpt2Tokenizer.builtIn().withMaskToken();
        mlm = dir.resolve("mlm");
        try (GptNeoModel model = GptNeo.builder().vocabSize(tokenizer.vocabSize()).contextLength(32).hiddenSize(16).layers(2)
                .heads(2).attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(4).initializerRange(0.5f).seed(3)
                .objective(Objective.MASKED_LM).maskTokenId(tokenizer.maskTokenId().getAsInt()).build()) {
            HfCheckpoint.save(model, mlm);
        }
        TokenizerWriter.writeVocabAndMerges(tokenizer, mlm);
        causal = dir.resolve("causal");
        try (GptNeoModel model = GptNeo.builder().vocabSize(300).contextLength(32).hiddenSize(16).layers(1).heads(2)
                .attention(AttentionType.GLOBAL).seed(3).build()) {
            HfCheckpoint.save(model, causal);
        }
    }

    private static Filler.Filled direct(int k) {
        try (GptNeoModel model = HfCheckpoint.load(mlm, Backends.defaultBackend(), LoadOptions.defaults())) {
            return new Filler(model, Gpt2Tokenizer.fromFolder(mlm)).fill(TEXT, k);
        }
    }

    @Test
    void printsTheFilledText() {
        Cli r = Cli.run("fill", "--model", mlm.toString(), "--text", TEXT);
        assertThat(r.exitCode()).as(r.err()).isZero();
        String expected = direct(1).text();
        assertThat(expected).startsWith("The").endsWith(".").doesNotContain("[MASK]");
        assertThat(r.out()).isEqualTo(expected + System.lineSeparator());
    }

    @Test
    void jsonHoldsTheTextAndTheTopKCandidatesOfEachMask() throws Exception {
        Cli r = Cli.run("fill", "--model", mlm.toString(), "--text", TEXT, "--json", "--top-k", "3");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out().lines().toList()).hasSize(1);
        JsonNode node = new ObjectMapper().readTree(r.out());
        assertThat(node.properties()).extracting(Map.Entry::getKey).containsExactly("text", "masks");
        Filler.Filled expected = direct(3);
        assertThat(node.get("text").asText()).isEqualTo(expected.text());
        assertThat(node.get("masks")).hasSize(2);
        for (int m = 0; m < 2; m++) {
            List<Filler.Candidate> want = expected.candidates().get(m);
            JsonNode got = node.get("masks").get(m);
            assertThat(got).hasSize(3);
            for (int c = 0; c < 3; c++) {
                JsonNode candidate = got.get(c);
                assertThat(candidate.properties()).extracting(Map.Entry::getKey).containsExactly("token", "id", "probability");
                assertThat(candidate.get("id").asInt()).isEqualTo(want.get(c).id());
                assertThat(candidate.get("token").asText()).isEqualTo(want.get(c).text());
                assertThat(candidate.get("probability").asDouble()).isEqualTo(want.get(c).probability());
            }
        }
        JsonNode byDefault = new ObjectMapper().readTree(Cli.run("fill", "--model", mlm.toString(), "--text", TEXT, "--json").out());
        assertThat(byDefault.get("masks").get(0)).hasSize(5);
    }

    @Test
    void aMaskedLmModelTrainedByTrainIsSavedWithItsMaskTokenAndFills() throws Exception {
        Path data = java.nio.file.Files.writeString(dir.resolve("data.txt"), "the cat sat on the mat. ".repeat(40));
        Path out = dir.resolve("trained");
        Cli train = Cli.run("train", "--model", mlm.toString(), "--data", data.toString(), "--steps", "2", "--batch-size", "2",
                "--seq-len", "16", "--out", out.toString());
        assertThat(train.exitCode()).as(train.err()).isZero();
        assertThat(java.nio.file.Files.readString(out.resolve("added_tokens.json"))).isEqualTo("{\"[MASK]\":50257}\n");
        assertThat(out.resolve("metrics.jsonl")).isRegularFile();
        Cli fill = Cli.run("fill", "--model", out.toString(), "--text", "the [MASK] sat");
        assertThat(fill.exitCode()).as(fill.err()).isZero();
        assertThat(fill.out()).startsWith("the").doesNotContain("[MASK]");
    }

    @Test
    void aCausalModelOrATextWithoutMaskIsAOneLineError() {
        assertOneLineError(Cli.run("fill", "--model", causal.toString(), "--text", TEXT),
                "filling in [MASK] needs a masked-LM model; this model's objective is causal_lm");
        assertOneLineError(Cli.run("fill", "--model", mlm.toString(), "--text", "nothing to fill"), "the text has no [MASK] to fill in");
        assertOneLineError(Cli.run("fill", "--preset", "125M", "--text", TEXT), "needs a masked-LM model");
    }

    @Test
    void badOptionsAreShortUsageErrors() {
        for (Cli r : List.of(Cli.run("fill", "--model", mlm.toString(), "--text", TEXT, "--json", "--top-k", "0"),
                Cli.run("fill", "--model", mlm.toString(), "--text", TEXT, "--top-k", "3"),
                Cli.run("fill", "--model", mlm.toString(), "--text", TEXT, "--dtype", "f64"),
                Cli.run("fill", "--model", mlm.toString()))) {
            assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
            assertThat(r.errLines()).hasSizeLessThanOrEqualTo(3).last().asString().isEqualTo("see gptneo fill --help");
        }
        assertThat(Cli.run("fill", "--model", mlm.toString(), "--text", TEXT, "--top-k", "3").err())
                .contains("--top-k needs --json");
    }
}
