package org.gptneo.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import org.junit.jupiter.api.Test;

/** InMemoryTokens: a private copy, documents joined by EOS as the file datasets join them, and one-line errors. */
class InMemoryTokensTest {
    private static final Gpt2Tokenizer GPT2 = Gpt2Tokenizer.builtIn();

    private static int[] readAll(TokenSource source) {
        int[] out = new int[Math.toIntExact(source.length())];
        source.read(0, out, 0, out.length);
        return out;
    }

    @Test
    void ofCopiesTheArray() {
        int[] ids = {5, 0, 7, 50256};
        try (InMemoryTokens source = InMemoryTokens.of(ids)) {
            ids[0] = 99;
            assertThat(source.length()).isEqualTo(4);
            assertThat(readAll(source)).containsExactly(5, 0, 7, 50256);
            int[] dst = new int[5];
            source.read(1, dst, 3, 2);
            assertThat(dst).containsExactly(0, 0, 0, 0, 7);
            assertThat(source.description()).isEqualTo("in memory: 4 tokens");
        }
    }

    @Test
    void tokenizeFollowsEachDocumentWithEos() {
        try (InMemoryTokens source = InMemoryTokens.tokenize(List.of("Hello world", "", "A dog."), GPT2)) {
            int[] expected = concat(GPT2.encode("Hello world"), new int[] {50256}, new int[] {50256},
                    GPT2.encode("A dog."), new int[] {50256});
            assertThat(readAll(source)).containsExactly(expected);
            assertThat(readAll(source)).startsWith(15496, 995, 50256, 50256);
            assertThat(source.description()).isEqualTo("3 documents in memory: " + expected.length + " tokens");
        }
    }

    @Test
    void tokenizeTurnsTheLiteralEndOfTextIntoItsId() {
        try (InMemoryTokens source = InMemoryTokens.tokenize(List.of("Hello<|endoftext|>world"), GPT2)) {
            assertThat(readAll(source)).containsExactly(concat(GPT2.encode("Hello"), new int[] {50256},
                    GPT2.encode("world"), new int[] {50256}));
            assertThat(source.description()).startsWith("1 document in memory: ");
        }
    }

    @Test
    void packsIntoSequences() {
        int[] ids = new int[25];
        Arrays.setAll(ids, i -> i);
        SequenceDataset sequences = SequenceDataset.packed(InMemoryTokens.of(ids), 8);
        assertThat(sequences.size()).isEqualTo(3);      // the last token is a partial window, dropped
        int[] row = new int[8];
        sequences.read(2, row, 0);
        assertThat(row).containsExactly(16, 17, 18, 19, 20, 21, 22, 23);
    }

    @Test
    void refusesEmptyInputsAndNegativeIds() {
        assertThatThrownBy(() -> InMemoryTokens.of(new int[0])).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("no tokens: a token source needs at least one");
        assertThatThrownBy(() -> InMemoryTokens.of(new int[] {3, 4, -1})).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("token 2 is -1: ids must be >= 0");
        assertThatThrownBy(() -> InMemoryTokens.tokenize(List.of(), GPT2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("no documents to tokenize");
        assertThatThrownBy(() -> InMemoryTokens.tokenize(Arrays.asList("a", null), GPT2)).isInstanceOf(NullPointerException.class)
                .hasMessage("document 1 is null");
    }

    @Test
    void readsOutsideTheTokensOrAfterCloseFail() {
        InMemoryTokens source = InMemoryTokens.of(new int[] {1, 2, 3});
        assertThatThrownBy(() -> source.read(2, new int[2], 0, 2)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessage("tokens [2, 4) are outside the source's [0, 3)");
        assertThatThrownBy(() -> source.read(0, new int[2], 1, 2)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessage("destination range [1, 3) is outside the array's [0, 2)");
        source.close();
        assertThatThrownBy(() -> source.read(0, new int[1], 0, 1)).isInstanceOf(IllegalStateException.class)
                .hasMessage("the token source is closed (in memory: 3 tokens)");
    }

    private static int[] concat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
    }
}
