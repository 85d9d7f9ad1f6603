package org.gptneo.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Parity with tiktoken's r50k_base (through JTokkit) on a generated corpus of 10,500 lines. */
class Gpt2TokenizerParityTest {
    private static Gpt2Tokenizer tokenizer;
    private static Encoding r50k;
    private static List<String> corpus;

    @BeforeAll
    static void setUp() {
        tokenizer = Gpt2Tokenizer.builtIn();
        r50k = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
        corpus = TestCorpus.lines();
    }

    private static String show(String s) {
        StringBuilder b = new StringBuilder("\"");
        s.codePoints().forEach(cp -> {
            if (cp >= 0x20 && cp < 0x7f && cp != '"' && cp != '\\') {
                b.append((char) cp);
            } else {
                b.append(String.format("\\u{%X}", cp));
            }
        });
        return b.append('"').toString();
    }

    @Test
    void corpusIsLargeAndVaried() {
        assertThat(corpus).hasSizeGreaterThanOrEqualTo(10_000);
        String all = String.join("", corpus);
        for (String must : new String[] {"'S", "'LL", "’", "\r\n", "\t", "\u0085", "\u001c", "\u001f", "👨‍👩‍👧‍👦",
            "🇫🇷", "🏽", "\u0301", "1,234,567.89", "https://", "∑", "\u0000", "你好", "안녕", "שָׁלוֹם", "नमस्ते"}) {
            assertThat(all).contains(must);
        }
    }

    @Test
    void everyLineEncodesAsR50kBase() {
        List<String> mismatches = new ArrayList<>();
        for (String line : corpus) {
            int[] ours = tokenizer.encodeOrdinary(line);
            int[] theirs = r50k.encodeOrdinary(line).toArray();
            if (!Arrays.equals(ours, theirs)) {
                mismatches.add(show(line) + ": " + Arrays.toString(ours) + " vs r50k " + Arrays.toString(theirs));
            }
        }
        assertThat(mismatches).as("lines whose encoding differs from r50k_base").isEmpty();
    }

    @Test
    void theWholeCorpusAsOneStringEncodesAsR50kBase() {
        String all = String.join("\n", corpus);
        assertThat(tokenizer.encodeOrdinary(all)).isEqualTo(r50k.encodeOrdinary(all).toArray());
        assertThat(tokenizer.decode(tokenizer.encodeOrdinary(all))).isEqualTo(all);
        assertThat(tokenizer.decode(tokenizer.encode(all))).isEqualTo(all);
    }

    @Test
    void everyLineDecodesBackToItself() {
        List<String> failures = new ArrayList<>();
        for (String line : corpus) {
            if (!tokenizer.decode(tokenizer.encode(line)).equals(line)
                    || !tokenizer.decode(tokenizer.encodeOrdinary(line)).equals(line)) {
                failures.add(show(line));
            }
        }
        assertThat(failures).isEmpty();
    }

    @Test
    void encodeDiffersFromEncodeOrdinaryOnlyAtEndOfText() {
        for (String line : corpus) {
            if (!line.contains(Gpt2Tokenizer.END_OF_TEXT)) {
                assertThat(tokenizer.encode(line)).as(show(line)).isEqualTo(tokenizer.encodeOrdinary(line));
            } else {
                assertThat(tokenizer.encode(line)).as(show(line)).contains(50256);
            }
        }
    }

    @Test
    void theScannerSplitsAsTheReferenceRegexOnEveryLine() {
        List<String> mismatches = new ArrayList<>();
        for (String line : corpus) {
            if (!PreTokenizer.split(line).equals(PreTokenizer.splitWithRegex(line))) {
                mismatches.add(show(line));
            }
        }
        assertThat(mismatches).isEmpty();
    }

    @Test
    void theScannerSplitsAsTheReferenceRegexOnEveryCodePointInContext() {
        // each code point alone, after a space, between letters, in a whitespace run and after an apostrophe
        List<String> mismatches = new ArrayList<>();
        StringBuilder b = new StringBuilder();
        for (int cp = 0; cp <= 0x10FFFF; cp += cp < 0x3400 ? 1 : 61) {
            b.setLength(0);
            b.appendCodePoint(cp).append(" ").appendCodePoint(cp).append("a").appendCodePoint(cp).append("b  ")
                    .appendCodePoint(cp).append("\t\t").appendCodePoint(cp).append("'").appendCodePoint(cp)
                    .append("1").appendCodePoint(cp).appendCodePoint(cp).append(" ");
            String s = b.toString();
            if (!PreTokenizer.split(s).equals(PreTokenizer.splitWithRegex(s))) {
                mismatches.add(String.format("U+%04X", cp));
            }
        }
        assertThat(mismatches).isEmpty();
    }

    @Test
    void informationSeparatorsAreNotWhitespaceButNextLineIs() {
        // Python's `regex` module (HF's GPT2Tokenizer) gives exactly these pieces:
        // regex.findall(PAT, 'a\x1c\x1c b\x85\x85c  \x1fd')
        assertThat(PreTokenizer.split("a\u001c\u001c b\u0085\u0085c  \u001fd"))
                .containsExactly("a", "\u001c\u001c", " b", "\u0085", "\u0085", "c", " ", " \u001f", "d");
        for (String s : new String[] {"\u001c", "\u001d", "\u001e", "\u001f", "a\u001cb", " \u001c", "\u001c ",
            "x \u001d\u001d  y", "\u0085", "x\u0085y", " \u0085", "\u0085 x", "x \u0085\u0085 y", "a\u0085\n b",
            "\u001c\u001d\u001e\u001f\u0085 \u0085\u001f"}) {
            assertThat(tokenizer.encodeOrdinary(s)).as(show(s)).isEqualTo(r50k.encodeOrdinary(s).toArray());
            assertThat(tokenizer.decode(tokenizer.encodeOrdinary(s))).isEqualTo(s);
        }
    }

    @Test
    void aLoneSurrogateIsEncodedAsTheReplacementCharacter() {
        // A Java String may hold a lone surrogate, which UTF-8 cannot; HF never sees one (Python refuses to
        // encode it). We encode it as U+FFFD; JTokkit (String.getBytes) would encode it as '?'.
        for (String s : new String[] {"a\uD800b", "\uDC00", "x \uD83D", "\uDE00 y", "ok\uD800\uD800ok"}) {
            String replaced = s.replaceAll("[\\uD800-\\uDFFF]", "\uFFFD");
            assertThat(tokenizer.encodeOrdinary(s)).as(show(s)).isEqualTo(r50k.encodeOrdinary(replaced).toArray());
            assertThat(tokenizer.decode(tokenizer.encode(s))).isEqualTo(replaced);
            assertThat(PreTokenizer.split(s)).isEqualTo(PreTokenizer.splitWithRegex(s));
        }
    }
}
