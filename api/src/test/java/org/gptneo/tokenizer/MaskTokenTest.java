package org.gptneo.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The mask token added to GPT-2's tokenizer: its id, encoding before BPE, decoding, and the files it is saved in. */
class MaskTokenTest {
    private static final Gpt2Tokenizer GPT2 = Gpt2Tokenizer.builtIn();

    @TempDir
    Path dir;

    @Test
    void theMaskTokenIsTheNextIdAndEncodesAsOneTokenTakingTheSpaceBeforeIt() {
        Gpt2Tokenizer masked = GPT2.withMaskToken();
        assertThat(masked.maskTokenId()).hasValue(50257);
        assertThat(masked.vocabSize()).isEqualTo(50258);
        assertThat(masked.idOf(Gpt2Tokenizer.MASK)).hasValue(50257);
        assertThat(masked.token(50257)).isEqualTo("[MASK]");
        int[] ids = masked.encode("The [MASK] sat on the [MASK].");
        assertThat(ids).containsExactly(concat(GPT2.encode("The"), new int[] {50257}, GPT2.encode(" sat on the"),
                new int[] {50257}, GPT2.encode(".")));
        assertThat(masked.encode("[MASK][MASK]<|endoftext|>")).containsExactly(50257, 50257, 50256);
        assertThat(masked.decode(ids)).isEqualTo("The[MASK] sat on the[MASK].");
        assertThat(masked.decode(new int[] {464, 50257, 3332})).isEqualTo("The[MASK] sat");
    }

    @Test
    void textsWithoutTheMaskTokenEncodeAsBeforeAndTheBuiltInTokenizerIsUnchanged() {
        Gpt2Tokenizer masked = GPT2.withMaskToken();
        for (String line : TestCorpus.lines().subList(0, 500)) {
            assertThat(masked.encode(line)).as(line).containsExactly(GPT2.encode(line));
        }
        assertThat(GPT2.maskTokenId()).isEmpty();
        assertThat(GPT2.vocabSize()).isEqualTo(50257);
        assertThat(GPT2.encode("[MASK]")).hasSizeGreaterThan(1);
        assertThat(masked.encodeOrdinary("a [MASK]")).containsExactly(GPT2.encode("a [MASK]"));
        assertThat(masked.withMaskToken()).isSameAs(masked);
        assertThat(masked.withMaskToken(50257)).isSameAs(masked);
    }

    @Test
    void aGivenIdBeyondTheVocabularyIsUsedAndAnotherTokensIdIsRefused() {
        Gpt2Tokenizer at = GPT2.withMaskToken(50300);
        assertThat(at.maskTokenId()).hasValue(50300);
        assertThat(at.vocabSize()).isEqualTo(50301);
        assertThat(at.encode(" [MASK]")).containsExactly(50300);
        assertThatThrownBy(() -> at.decode(new int[] {50280})).hasMessageContaining("token id 50280 is not used");
        assertThatThrownBy(() -> GPT2.withMaskToken(100))
                .isInstanceOf(TokenizerException.class).hasMessage("built-in GPT-2 tokenizer: id 100 is already the token '§', it cannot also be [MASK]");
        assertThatThrownBy(() -> at.withMaskToken(50257))
                .isInstanceOf(TokenizerException.class).hasMessage("built-in GPT-2 tokenizer: [MASK] is id 50300, not 50257");
    }

    @Test
    void theMaskTokenIsSavedInAddedTokensJsonAndReadBack() throws Exception {
        Path folder = dir.resolve("model");
        Gpt2Tokenizer masked = GPT2.withMaskToken();
        assertThat(TokenizerWriter.writeVocabAndMerges(masked, folder))
                .containsExactly(folder.resolve("vocab.json"), folder.resolve("merges.txt"), folder.resolve("added_tokens.json"));
        assertThat(Files.readString(folder.resolve("added_tokens.json"))).isEqualTo("{\"[MASK]\":50257}\n");
        assertThat(new ObjectMapper().readTree(folder.resolve("vocab.json").toFile()).size()).isEqualTo(50257);

        Gpt2Tokenizer back = Gpt2Tokenizer.fromFolder(folder);
        assertThat(back.maskTokenId()).hasValue(50257);
        assertThat(back.vocabSize()).isEqualTo(50258);
        String text = "A [MASK] of tea, <|endoftext|> and [MASK]";
        assertThat(back.encode(text)).containsExactly(masked.encode(text));

        TokenizerWriter.writeVocabAndMerges(GPT2, folder);
        assertThat(folder.resolve("added_tokens.json")).as("no stale mask token").doesNotExist();
        assertThat(Gpt2Tokenizer.fromFolder(folder).maskTokenId()).isEmpty();
    }

    @Test
    void aBrokenAddedTokensFileIsAOneLineError() throws Exception {
        Path folder = dir.resolve("broken");
        TokenizerWriter.writeVocabAndMerges(GPT2, folder);
        Files.writeString(folder.resolve("added_tokens.json"), "{\"[MASK]\": \"x\"}");
        assertThatThrownBy(() -> Gpt2Tokenizer.fromFolder(folder)).isInstanceOf(TokenizerException.class)
                .hasMessage(folder.resolve("added_tokens.json") + ": token '[MASK]' has id \"x\", not an integer");
        Files.writeString(folder.resolve("added_tokens.json"), "{\"[MASK]\": 100}");
        assertThatThrownBy(() -> Gpt2Tokenizer.fromFolder(folder)).isInstanceOf(TokenizerException.class)
                .hasMessageContaining("id 100 is given to both");
    }

    private static int[] concat(int[]... parts) {
        return java.util.Arrays.stream(parts).flatMapToInt(java.util.Arrays::stream).toArray();
    }
}
