package org.gptneo.tokenizer;

/**
 * UTF-8 decoding with replacement exactly as Python's {@code bytes.decode('utf-8', errors='replace')}
 * (and its incremental decoder): each maximal subpart of an ill-formed sequence becomes one U+FFFD
 * (Unicode's "substitution of maximal subparts" practice). Java's own decoder differs on some inputs:
 * it turns an encoded surrogate such as {@code ED A0 80} into one U+FFFD where Python emits three.
 */
final class Utf8 {
    static final char REPLACEMENT = '\uFFFD';

    private Utf8() {}

    /**
     * Decodes {@code bytes[from..to)} into {@code out} and returns the index after the last byte
     * consumed. When {@code last} is false, an incomplete but so far valid sequence at the end is left
     * undecoded (the returned index points at its first byte); when true it becomes one U+FFFD.
     */
    static int decode(byte[] bytes, int from, int to, StringBuilder out, boolean last) {
        int i = from;
        outer:
        while (i < to) {
            int b0 = bytes[i] & 0xff;
            if (b0 < 0x80) {
                out.append((char) b0);
                i++;
                continue;
            }
            int need;
            int lo = 0x80;
            int hi = 0xBF;
            int cp;
            if (b0 >= 0xC2 && b0 <= 0xDF) {
                need = 1;
                cp = b0 & 0x1F;
            } else if (b0 >= 0xE0 && b0 <= 0xEF) {
                need = 2;
                cp = b0 & 0x0F;
                if (b0 == 0xE0) {
                    lo = 0xA0;
                } else if (b0 == 0xED) {
                    hi = 0x9F; // no encoded surrogates
                }
            } else if (b0 >= 0xF0 && b0 <= 0xF4) {
                need = 3;
                cp = b0 & 0x07;
                if (b0 == 0xF0) {
                    lo = 0x90;
                } else if (b0 == 0xF4) {
                    hi = 0x8F; // nothing above U+10FFFF
                }
            } else {
                out.append(REPLACEMENT); // a continuation byte, C0/C1 or F5..FF: never valid first
                i++;
                continue;
            }
            for (int k = 1; k <= need; k++) {
                if (i + k >= to) {
                    if (!last) {
                        return i;
                    }
                    out.append(REPLACEMENT);
                    return to;
                }
                int b = bytes[i + k] & 0xff;
                if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) {
                    out.append(REPLACEMENT);
                    i += k;
                    continue outer;
                }
                cp = (cp << 6) | (b & 0x3F);
            }
            out.appendCodePoint(cp);
            i += need + 1;
        }
        return to;
    }

    /** Decodes all of {@code bytes}, replacing ill-formed sequences as Python does. */
    static String decode(byte[] bytes, int length) {
        StringBuilder out = new StringBuilder(length);
        decode(bytes, 0, length, out, true);
        return out.toString();
    }
}
