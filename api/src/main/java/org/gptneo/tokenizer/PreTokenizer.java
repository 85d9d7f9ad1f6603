package org.gptneo.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GPT-2's pre-tokenisation (spec section 14.2): a hand-written scanner over code points that splits
 * exactly as {@link #REFERENCE}, the regex of OpenAI's encoder, HF's GPT2Tokenizer and tiktoken's
 * r50k_base:
 *
 * <pre>{@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+}</pre>
 *
 * <p>Whitespace ({@code \s}) is the Unicode White_Space property: U+0009–U+000D, U+0020, U+0085,
 * U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000. That is what all the
 * references use: Python's {@code regex} module (HF's slow tokenizer), Rust's regex crates (tiktoken,
 * HF's fast tokenizer) and Java's {@code UNICODE_CHARACTER_CLASS} (JTokkit). It is not Python's
 * {@code str.isspace()}: the information separators U+001C–U+001F are NOT whitespace here (they are
 * "other" characters), while U+0085 (NEXT LINE) is; the tests check both against JTokkit. Letters and
 * numbers are the general categories L* and N* of the running JDK's Unicode tables (as for JTokkit).
 *
 * <p>A lone surrogate (which no UTF-8 text can hold) is classified as an "other" character, as U+FFFD
 * would be; {@link Gpt2Tokenizer} encodes it as U+FFFD's bytes.
 */
final class PreTokenizer {
    /** The reference pattern; the scanner below must split every string exactly as this does. */
    static final Pattern REFERENCE = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    static final byte LETTER = 0;
    static final byte NUMBER = 1;
    static final byte SPACE = 2;
    static final byte OTHER = 3;

    /** The class of every BMP character (surrogates: OTHER; pairs are classified by code point). */
    private static final byte[] BMP_CLASS = new byte[0x10000];

    static {
        for (int c = 0; c < 0x10000; c++) {
            BMP_CLASS[c] = classOfCodePoint(c);
        }
    }

    private PreTokenizer() {}

    /** The class of a code point: letter (L*), number (N*), White_Space, or other. */
    static byte classOfCodePoint(int cp) {
        int type = Character.getType(cp);
        switch (type) {
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                    Character.MODIFIER_LETTER, Character.OTHER_LETTER -> {
                return LETTER;
            }
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> {
                return NUMBER;
            }
            case Character.SPACE_SEPARATOR, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR -> {
                return SPACE;
            }
            default -> {
                return (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 ? SPACE : OTHER;
            }
        }
    }

    /** The class of the character or surrogate pair at {@code i} (with {@code i < end}). */
    private static byte classAt(CharSequence s, int i, int end) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c) && i + 1 < end && Character.isLowSurrogate(s.charAt(i + 1))) {
            return classOfCodePoint(Character.toCodePoint(c, s.charAt(i + 1)));
        }
        return BMP_CLASS[c];
    }

    /** The end of the run of class {@code cls} that starts at {@code i}. */
    private static int run(CharSequence s, int i, int end, byte cls) {
        while (i < end) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < end && Character.isLowSurrogate(s.charAt(i + 1))) {
                if (classOfCodePoint(Character.toCodePoint(c, s.charAt(i + 1))) != cls) {
                    return i;
                }
                i += 2;
            } else {
                if (BMP_CLASS[c] != cls) {
                    return i;
                }
                i++;
            }
        }
        return end;
    }

    /**
     * The end of the pre-token that starts at {@code i} in {@code s[i..end)} (with {@code i < end}),
     * {@code end} acting as the end of the text. The cases follow the pattern's alternatives in order.
     */
    static int next(CharSequence s, int i, int end) {
        char c = s.charAt(i);
        // 's 't 'm 'd 're 've 'll (ASCII apostrophe, lower case only)
        if (c == '\'' && i + 1 < end) {
            char d = s.charAt(i + 1);
            if (d == 's' || d == 't' || d == 'm' || d == 'd') {
                return i + 2;
            }
            if (i + 2 < end) {
                char e = s.charAt(i + 2);
                if ((d == 'r' && e == 'e') || (d == 'v' && e == 'e') || (d == 'l' && e == 'l')) {
                    return i + 3;
                }
            }
        }
        // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+" with the optional space
        if (c == ' ' && i + 1 < end) {
            byte cls = classAt(s, i + 1, end);
            if (cls != SPACE) {
                return run(s, i + 1, end, cls);
            }
        }
        // the same without the space
        byte cls = c < 0x80 ? BMP_CLASS[c] : classAt(s, i, end);
        if (cls != SPACE) {
            return run(s, i, end, cls);
        }
        // "\s+(?!\S)|\s+": the whole run at the end of the text or when it is one character long;
        // otherwise all but its last character (which then prefixes the next pre-token or stands alone).
        // Whitespace characters are all in the BMP, so j - 1 is a character boundary.
        int j = run(s, i, end, SPACE);
        return j == end || j - i == 1 ? j : j - 1;
    }

    /** The pre-tokens of {@code s} found by the scanner. */
    static List<String> split(CharSequence s) {
        List<String> out = new ArrayList<>();
        int i = 0;
        while (i < s.length()) {
            int j = next(s, i, s.length());
            out.add(s.subSequence(i, j).toString());
            i = j;
        }
        return out;
    }

    /** The pre-tokens of {@code s} found by the reference regex. */
    static List<String> splitWithRegex(CharSequence s) {
        List<String> out = new ArrayList<>();
        Matcher m = REFERENCE.matcher(s);
        while (m.find()) {
            out.add(m.group());
        }
        return out;
    }
}
