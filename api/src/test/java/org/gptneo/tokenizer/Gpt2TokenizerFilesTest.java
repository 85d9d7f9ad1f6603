package org.gptneo.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Gpt2Tokenizer#fromFolder}: tokenizer.json, vocab.json + merges.txt, none, and malformed files. */
class Gpt2TokenizerFilesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Gpt2Tokenizer builtIn;
    private static List<String> sample;

    @TempDir
    Path dir;

    @BeforeAll
    static void setUp() {
        builtIn = Gpt2Tokenizer.builtIn();
        sample = TestCorpus.lines().subList(0, 2500);
    }

    /** The built-in vocabulary as vocab.json's object (id order). */
    static ObjectNode vocabJson(Gpt2Tokenizer t) {
        ObjectNode vocab = JSON.createObjectNode();
        for (int id = 0; id < t.vocabSize(); id++) {
            vocab.put(t.token(id), id);
        }
        return vocab;
    }

    static void writeVocabAndMerges(Gpt2Tokenizer t, Path dir) throws IOException {
        JSON.writeValue(dir.resolve("vocab.json").toFile(), vocabJson(t));
        StringBuilder merges = new StringBuilder("#version: 0.2\n");
        for (String m : t.merges()) {
            merges.append(m).append('\n');
        }
        Files.writeString(dir.resolve("merges.txt"), merges, StandardCharsets.UTF_8);
    }

    static ObjectNode tokenizerJson(Gpt2Tokenizer t, boolean pairMerges) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        ArrayNode added = root.putArray("added_tokens");
        added.addObject().put("id", 50256).put("content", "<|endoftext|>").put("single_word", false)
                .put("lstrip", false).put("rstrip", false).put("normalized", true).put("special", true);
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false)
                .put("trim_offsets", true).put("use_regex", true);
        root.putObject("post_processor").put("type", "ByteLevel");
        root.putObject("decoder").put("type", "ByteLevel");
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout").putNull("unk_token").put("continuing_subword_prefix", "")
                .put("end_of_word_suffix", "").put("fuse_unk", false).put("byte_fallback", false)
                .put("ignore_merges", false);
        model.set("vocab", vocabJson(t));
        ArrayNode merges = model.putArray("merges");
        for (String m : t.merges()) {
            if (pairMerges) {
                String[] parts = m.split(" ");
                merges.addArray().add(parts[0]).add(parts[1]);
            } else {
                merges.add(m);
            }
        }
        return root;
    }

    private void assertEncodesLikeBuiltIn(Gpt2Tokenizer t) {
        assertThat(t.vocabSize()).isEqualTo(50257);
        assertThat(t.eosTokenId()).isEqualTo(50256);
        assertThat(t.merges()).isEqualTo(builtIn.merges());
        for (String line : sample) {
            assertThat(t.encode(line)).isEqualTo(builtIn.encode(line));
            assertThat(t.encodeOrdinary(line)).isEqualTo(builtIn.encodeOrdinary(line));
            assertThat(t.decode(t.encode(line))).isEqualTo(line);
        }
        assertThat(t.encode("a<|endoftext|>b")).containsExactly(64, 50256, 65);
    }

    @Test
    void tokenizerJsonWithStringMerges() throws IOException {
        JSON.writeValue(dir.resolve("tokenizer.json").toFile(), tokenizerJson(builtIn, false));
        assertEncodesLikeBuiltIn(Gpt2Tokenizer.fromFolder(dir));
    }

    @Test
    void tokenizerJsonWithPairMergesWinsOverVocabJson() throws IOException {
        JSON.writeValue(dir.resolve("tokenizer.json").toFile(), tokenizerJson(builtIn, true));
        Files.writeString(dir.resolve("vocab.json"), "not read");
        assertEncodesLikeBuiltIn(Gpt2Tokenizer.fromFolder(dir));
    }

    @Test
    void vocabJsonAndMergesTxt() throws IOException {
        writeVocabAndMerges(builtIn, dir);
        assertEncodesLikeBuiltIn(Gpt2Tokenizer.fromFolder(dir));
    }

    @Test
    void noFilesMeansBuiltIn() {
        assertThat(Gpt2Tokenizer.fromFolder(dir)).isSameAs(Gpt2Tokenizer.builtIn());
    }

    @Test
    void addedTokensAreSplitOutWithTheirStripping() throws IOException {
        ObjectNode root = tokenizerJson(builtIn, false);
        ((ArrayNode) root.get("added_tokens")).addObject().put("id", 50257).put("content", "<|pad|>")
                .put("lstrip", true).put("rstrip", false).put("special", true);
        ((ArrayNode) root.get("added_tokens")).addObject().put("id", 50258).put("content", "[X]")
                .put("lstrip", false).put("rstrip", true).put("special", false);
        JSON.writeValue(dir.resolve("tokenizer.json").toFile(), root);
        Gpt2Tokenizer t = Gpt2Tokenizer.fromFolder(dir);
        assertThat(t.vocabSize()).isEqualTo(50259);
        assertThat(t.idOf("<|pad|>")).hasValue(50257);
        assertThat(t.encode("Hello  <|pad|>world")).containsExactly(15496, 50257, 6894);
        assertThat(t.encode("[X]  world<|endoftext|>")).containsExactly(50258, 6894, 50256);
        assertThat(t.encodeOrdinary("<|pad|>")).isEqualTo(builtIn.encodeOrdinary("<|pad|>"));
        assertThat(t.decode(new int[] {15496, 50257, 50258})).isEqualTo("Hello<|pad|>[X]");
        assertThatThrownBy(() -> t.decode(new int[] {50259})).isInstanceOf(TokenizerException.class)
                .hasMessageContaining("50259");
    }

    private void assertRejected(String expectedFile, String... fragments) {
        assertThatThrownBy(() -> Gpt2Tokenizer.fromFolder(dir)).isInstanceOf(TokenizerException.class)
                .isInstanceOf(IllegalArgumentException.class)
                .satisfies(e -> {
                    assertThat(e.getMessage()).doesNotContain("\n").contains(dir.resolve(expectedFile).toString());
                    for (String f : fragments) {
                        assertThat(e.getMessage()).contains(f);
                    }
                });
    }

    /** A tiny but complete byte-level vocabulary: the 256 bytes, "Ġt", "he" and "<|endoftext|>". */
    private String tinyVocab(String extra) {
        StringBuilder b = new StringBuilder("{");
        for (int id = 0; id < 256; id++) {
            String token = String.valueOf(ByteLevel.charOf(ByteLevel.byteOfId(id)));
            b.append(JSON.valueToTree(token).toString()).append(": ").append(id).append(", ");
        }
        return b.append("\"Ġt\": 256, \"he\": 257, \"<|endoftext|>\": 258").append(extra).append("}").toString();
    }

    @Test
    void aTinyHandMadeVocabularyWorks() throws IOException {
        Files.writeString(dir.resolve("vocab.json"), tinyVocab(""));
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\r\nĠ t\r\nh e\r\n\r\n");
        Gpt2Tokenizer t = Gpt2Tokenizer.fromFolder(dir);
        assertThat(t.vocabSize()).isEqualTo(259);
        assertThat(t.eosTokenId()).isEqualTo(258);
        assertThat(t.encode(" the<|endoftext|>")).containsExactly(256, 257, 258);
    }

    @Test
    void badJson() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"vocab\": {\"a\": 1,,}}}");
        assertRejected("tokenizer.json", "invalid JSON", "line 1");
    }

    @Test
    void badVocabJson() throws IOException {
        Files.writeString(dir.resolve("vocab.json"), "[1, 2");
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n");
        assertRejected("vocab.json", "invalid JSON");
    }

    @Test
    void mergesLineWithOneToken() throws IOException {
        Files.writeString(dir.resolve("vocab.json"), tinyVocab(""));
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\nĠ t\nhe\n");
        assertRejected("merges.txt", "line 3", "expected two tokens", "'he'");
    }

    @Test
    void mergeOfUnknownTokens() throws IOException {
        Files.writeString(dir.resolve("vocab.json"), tinyVocab(""));
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\nĠt he\n");
        assertRejected("merges.txt", "line 2", "'Ġthe'", "not in vocab.json");
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\nxyz e\n");
        assertRejected("merges.txt", "line 2", "'xyz'");
    }

    @Test
    void vocabIdClash() throws IOException {
        Files.writeString(dir.resolve("vocab.json"), tinyVocab(", \"Ġa\": 257"));
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n");
        assertRejected("vocab.json", "id 257", "'he'", "'Ġa'");
    }

    @Test
    void vocabIdNotAnInteger() throws IOException {
        Files.writeString(dir.resolve("vocab.json"), tinyVocab(", \"Ġa\": \"259\""));
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n");
        assertRejected("vocab.json", "'Ġa'", "not an integer");
    }

    @Test
    void duplicateVocabKey() throws IOException {
        Files.writeString(dir.resolve("vocab.json"), tinyVocab(", \"he\": 259"));
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n");
        assertRejected("vocab.json", "invalid JSON", "he");
    }

    @Test
    void missingByteToken() throws IOException {
        Files.writeString(dir.resolve("vocab.json"), "{\"a\": 0, \"<|endoftext|>\": 1}");
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n");
        assertRejected("vocab.json", "no token for byte 0x00");
    }

    @Test
    void missingEndOfText() throws IOException {
        Files.writeString(dir.resolve("vocab.json"), tinyVocab("").replace("\"<|endoftext|>\"", "\"eos\""));
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n");
        assertRejected("vocab.json", "<|endoftext|>");
    }

    @Test
    void vocabWithoutMerges() throws IOException {
        Files.writeString(dir.resolve("vocab.json"), tinyVocab(""));
        assertRejected("vocab.json", "without merges.txt");
    }

    @Test
    void unsupportedTokenizerJson() throws IOException {
        ObjectNode root = tokenizerJson(builtIn, false);
        ((ObjectNode) root.get("model")).put("type", "WordPiece");
        JSON.writeValue(dir.resolve("tokenizer.json").toFile(), root);
        assertRejected("tokenizer.json", "WordPiece");
        root = tokenizerJson(builtIn, false);
        ((ObjectNode) root.get("pre_tokenizer")).put("add_prefix_space", true);
        JSON.writeValue(dir.resolve("tokenizer.json").toFile(), root);
        assertRejected("tokenizer.json", "add_prefix_space");
        root = tokenizerJson(builtIn, false);
        ((ArrayNode) root.get("model").get("merges")).add(JSON.createArrayNode().add("Ġ"));
        JSON.writeValue(dir.resolve("tokenizer.json").toFile(), root);
        assertRejected("tokenizer.json", "model.merges[50000]");
        root = tokenizerJson(builtIn, false);
        ((ArrayNode) root.get("added_tokens")).addObject().put("id", 995).put("content", "<|x|>");
        JSON.writeValue(dir.resolve("tokenizer.json").toFile(), root);
        assertRejected("tokenizer.json", "added_tokens[1]", "id 995", "'Ġworld'");
        Files.writeString(dir.resolve("tokenizer.json"), "[]");
        assertRejected("tokenizer.json", "expected a JSON object");
    }

    @Test
    void notAFolder() {
        Path missing = dir.resolve("missing");
        assertThatThrownBy(() -> Gpt2Tokenizer.fromFolder(missing)).isInstanceOf(TokenizerException.class)
                .hasMessageContaining(missing.toString());
    }
}
