package org.gptneo.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link TokenizerWriter}: what it writes reads back (through TokenizerFiles) as the same tokenizer. */
class TokenizerWriterTest {
    @TempDir
    Path dir;

    @Test
    void theBuiltInTokenizerRoundTripsThroughVocabAndMerges() throws Exception {
        Gpt2Tokenizer builtIn = Gpt2Tokenizer.builtIn();
        List<Path> written = TokenizerWriter.writeVocabAndMerges(builtIn, dir.resolve("model"));
        assertThat(written).containsExactly(dir.resolve("model/vocab.json"), dir.resolve("model/merges.txt"));
        assertThat(Files.readString(written.get(1))).startsWith("#version: 0.2\nĠ t\n");
        try (var files = Files.list(dir.resolve("model"))) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted().toList()).containsExactly("merges.txt", "vocab.json");
        }

        Gpt2Tokenizer back = Gpt2Tokenizer.fromFolder(dir.resolve("model"));
        assertThat(back.toString()).as("read from the files, not the built-in one").contains("vocab.json");
        assertThat(back.vocabSize()).isEqualTo(Gpt2Tokenizer.GPT2_VOCAB_SIZE);
        assertThat(back.eosTokenId()).isEqualTo(50256);
        assertThat(back.merges()).containsExactlyElementsOf(builtIn.merges());
        for (String line : TestCorpus.lines().subList(0, 2000)) {
            assertThat(back.encode(line)).as(line).containsExactly(builtIn.encode(line));
        }
        assertThat(back.encode("Hi<|endoftext|>")).containsExactly(17250, 50256);
    }

    @Test
    void otherAddedTokensAreRefused() throws Exception {
        Path source = dir.resolve("source");
        Files.createDirectories(source);
        var json = Gpt2TokenizerFilesTest.tokenizerJson(Gpt2Tokenizer.builtIn(), false);
        ((com.fasterxml.jackson.databind.node.ArrayNode) json.get("added_tokens")).addObject()
                .put("id", 50257).put("content", "<|pad|>");
        new ObjectMapper().writeValue(source.resolve("tokenizer.json").toFile(), json);
        Gpt2Tokenizer withPad = Gpt2Tokenizer.fromFolder(source);
        assertThat(withPad.vocabSize()).isEqualTo(50258);
        assertThatThrownBy(() -> TokenizerWriter.writeVocabAndMerges(withPad, dir.resolve("out")))
                .isInstanceOf(TokenizerException.class).hasMessageContaining("added token '<|pad|>' cannot be written");
    }
}
