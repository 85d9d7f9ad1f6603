package org.gptneo.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class Gpt2TokenizerTest {
    private final Gpt2Tokenizer tokenizer = Gpt2Tokenizer.builtIn();

    @Test
    void knownExamples() {
        assertThat(tokenizer.encode("Hello world")).containsExactly(15496, 995);
        assertThat(tokenizer.encode(" Hello world")).containsExactly(18435, 995);
        assertThat(tokenizer.encode("The dog")).containsExactly(464, 3290);
        assertThat(tokenizer.encode("")).isEmpty();
        assertThat(tokenizer.decode(new int[] {15496, 995})).isEqualTo("Hello world");
    }

    @Test
    void endOfTextIsSplitOutByEncodeOnly() {
        assertThat(tokenizer.encode("<|endoftext|>")).containsExactly(50256);
        assertThat(tokenizer.encodeOrdinary("<|endoftext|>")).containsExactly(27, 91, 437, 1659, 5239, 91, 29);
        assertThat(tokenizer.encode("Hi<|endoftext|> there<|endoftext|><|endoftext|>"))
                .containsExactly(17250, 50256, 612, 50256, 50256);
        assertThat(tokenizer.decode(new int[] {50256})).isEqualTo("<|endoftext|>");
    }

    @Test
    void sizesAndIds() {
        assertThat(tokenizer.vocabSize()).isEqualTo(50257).isEqualTo(Gpt2Tokenizer.GPT2_VOCAB_SIZE);
        assertThat(tokenizer.eosTokenId()).isEqualTo(50256);
        assertThat(tokenizer.idOf("Ġworld")).isEqualTo(OptionalInt.of(995));
        assertThat(tokenizer.idOf("<|endoftext|>")).isEqualTo(OptionalInt.of(50256));
        assertThat(tokenizer.idOf("!")).isEqualTo(OptionalInt.of(0));
        assertThat(tokenizer.idOf("Ġ")).isEqualTo(OptionalInt.of(220));
        assertThat(tokenizer.idOf(" world")).isEmpty();
        assertThat(tokenizer.token(995)).isEqualTo("Ġworld");
        assertThat(tokenizer.merges()).hasSize(50_000);
        assertThat(tokenizer.merges().subList(0, 3)).containsExactly("Ġ t", "Ġ a", "h e");
        assertThat(Gpt2Tokenizer.builtIn()).isSameAs(tokenizer);
    }

    @Test
    void decodingAnIdOutsideTheVocabularyNamesIt() {
        assertThatThrownBy(() -> tokenizer.decode(new int[] {15496, 50257})).isInstanceOf(TokenizerException.class)
                .hasMessageContaining("50257").hasMessageNotContaining("\n");
        assertThatThrownBy(() -> tokenizer.decodeBytes(new int[] {-1})).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-1");
        assertThatThrownBy(() -> tokenizer.streamDecoder().push(70000)).isInstanceOf(TokenizerException.class)
                .hasMessageContaining("70000");
    }

    private int[] byteIds(int... bytes) {
        int[] ids = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            ids[i] = tokenizer.idOf(String.valueOf(ByteLevel.charOf(bytes[i]))).orElseThrow();
        }
        return ids;
    }

    private static String hex(String s) {
        return s.chars().mapToObj(c -> String.format("%04x", c)).toList().toString();
    }

    @Test
    void invalidUtf8IsReplacedAsPythonDoes() {
        // expected values are Python's bytes.decode('utf-8', errors='replace')
        Object[][] cases = {
            {new int[] {0xe2, 0x82}, "\uFFFD"},
            {new int[] {0xf0, 0x9f, 0x98}, "\uFFFD"},
            {new int[] {0xff, 0xfe}, "\uFFFD\uFFFD"},
            {new int[] {'a', 0xed, 0xa0, 0x80, 'b'}, "a\uFFFD\uFFFD\uFFFDb"},
            {new int[] {0xc0, 0xaf}, "\uFFFD\uFFFD"},
            {new int[] {0xf4, 0x90, 0x80, 0x80}, "\uFFFD\uFFFD\uFFFD\uFFFD"},
            {new int[] {0xe0, 0x80, 0xaf}, "\uFFFD\uFFFD\uFFFD"},
            {new int[] {0xf8, 0x88, 0x80, 0x80, 0x80}, "\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD"},
            {new int[] {0xe2, 0x82, 0xe2, 0x82, 0xac}, "\uFFFD\u20ac"},
            {new int[] {0xf0, 0x9f}, "\uFFFD"},
            {new int[] {0xc3}, "\uFFFD"},
            {new int[] {0xf0, 0x9f, 0x98, 0x80}, "😀"},
            {new int[] {0x80, 'x', 0xbf}, "\uFFFDx\uFFFD"},
        };
        for (Object[] c : cases) {
            int[] bytes = (int[]) c[0];
            String decoded = tokenizer.decode(byteIds(bytes));
            assertThat(hex(decoded)).as(java.util.Arrays.toString(bytes)).isEqualTo(hex((String) c[1]));
            // pushed one byte at a time, the stream decoder gives the same text
            StreamDecoder stream = tokenizer.streamDecoder();
            StringBuilder streamed = new StringBuilder();
            for (int id : byteIds(bytes)) {
                streamed.append(stream.push(id));
            }
            streamed.append(stream.flush());
            assertThat(hex(streamed.toString())).isEqualTo(hex((String) c[1]));
        }
        assertThat(tokenizer.decodeBytes(byteIds(0xe2, 0x82))).containsExactly(0xe2, 0x82);
    }

    @Test
    void streamDecoderNeverSplitsACharacter() {
        String text = "Emoji 👨‍👩‍👧‍👦 and 🇯🇵 flags, 👍🏽 tones; CJK 你好世界, 漢字とかな, 한국어, and 𝔘𝔫𝔦 math. 🏳️‍🌈!";
        int[] ids = tokenizer.encode(text);
        assertThat(ids.length).isGreaterThan(text.codePointCount(0, text.length()) / 2);
        StreamDecoder stream = tokenizer.streamDecoder();
        StringBuilder out = new StringBuilder();
        int heldBack = 0;
        for (int id : ids) {
            String piece = stream.push(id);
            assertThat(piece).doesNotContain("\uFFFD");
            if (!piece.isEmpty()) {
                assertThat(Character.isLowSurrogate(piece.charAt(0))).isFalse();
                assertThat(Character.isHighSurrogate(piece.charAt(piece.length() - 1))).isFalse();
            } else {
                heldBack++;
            }
            out.append(piece);
        }
        assertThat(heldBack).as("some tokens end inside a character").isPositive();
        assertThat(stream.flush()).isEmpty();
        assertThat(out.toString()).isEqualTo(text).isEqualTo(tokenizer.decode(ids));
    }

    @Test
    void streamDecoderMatchesDecodeOnTheCorpus() {
        for (String line : TestCorpus.lines().subList(0, 3000)) {
            int[] ids = tokenizer.encode(line);
            boolean hasReplacement = line.contains("\uFFFD");
            StreamDecoder stream = tokenizer.streamDecoder();
            StringBuilder out = new StringBuilder();
            for (int id : ids) {
                String piece = stream.push(id);
                if (!hasReplacement) {
                    assertThat(piece).doesNotContain("\uFFFD");
                }
                out.append(piece);
            }
            out.append(stream.flush());
            assertThat(out.toString()).isEqualTo(line);
        }
    }

    @Test
    void streamDecoderFlushesAnIncompleteTailAsOneReplacement() {
        int[] ids = tokenizer.encode("ok 😀");
        int[] bytes = {0xf0, 0x9f, 0x98};
        StreamDecoder stream = tokenizer.streamDecoder();
        StringBuilder out = new StringBuilder();
        for (int id : tokenizer.encode("ok")) {
            out.append(stream.push(id));
        }
        for (int id : byteIds(bytes)) {
            out.append(stream.push(id));
        }
        assertThat(out.toString()).isEqualTo("ok");
        assertThat(stream.flush()).isEqualTo("\uFFFD");
        assertThat(stream.flush()).isEmpty();
        assertThat(ids).isNotEmpty();
    }

    @Test
    void isThreadSafe() throws Exception {
        List<String> lines = TestCorpus.lines().subList(0, 2000);
        List<int[]> expected = lines.stream().map(tokenizer::encode).toList();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int seed = t;
                results.add(pool.submit(() -> {
                    Random random = new Random(seed);
                    for (int k = 0; k < 4000; k++) {
                        int i = random.nextInt(lines.size());
                        if (!java.util.Arrays.equals(tokenizer.encode(lines.get(i)), expected.get(i))) {
                            return false;
                        }
                    }
                    return true;
                }));
            }
            for (Future<Boolean> r : results) {
                assertThat(r.get()).isTrue();
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void derivingThroughJTokkitsApiGivesTheSameRanksAsItsResource() {
        byte[][] resource = R50kBase.ranks();
        byte[][] api = R50kBase.ranksThroughApi();
        assertThat(api.length).isEqualTo(resource.length).isEqualTo(50_256);
        for (int i = 0; i < api.length; i++) {
            assertThat(api[i]).isEqualTo(resource[i]);
        }
    }

    @Test
    void byteTableIsGpt2s() {
        assertThat(ByteLevel.charOf(' ')).isEqualTo('Ġ');
        assertThat(ByteLevel.charOf('\n')).isEqualTo('Ċ');
        assertThat(ByteLevel.charOf(0)).isEqualTo('\u0100');
        assertThat(ByteLevel.charOf(173)).isEqualTo('\u0143');
        assertThat(ByteLevel.charOf('A')).isEqualTo('A');
        assertThat(ByteLevel.byteOfId(0)).isEqualTo('!');
        assertThat(ByteLevel.byteOfId(188)).isEqualTo(0);
        for (int b = 0; b < 256; b++) {
            assertThat(ByteLevel.toBytes(String.valueOf(ByteLevel.charOf(b)))).containsExactly(b);
        }
    }
}
