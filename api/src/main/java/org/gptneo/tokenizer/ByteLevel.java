package org.gptneo.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * GPT-2's byte-to-unicode table (spec section 14.1): the 188 printable bytes 33–126, 161–172 and
 * 174–255 stand for the character of the same code point; the other 68 bytes (0–32, 127–160, 173), in
 * increasing order, stand for U+0100 … U+0143. A vocabulary token string is its bytes mapped through
 * this table (the space byte becomes 'Ġ').
 */
final class ByteLevel {
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[0x144];
    /** The bytes in table order: printable bytes ascending, then the others ascending (ids 0..255). */
    private static final int[] BYTES_IN_TABLE_ORDER = new int[256];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int shifted = 0;
        int printable = 0;
        for (int b = 0; b < 256; b++) {
            if (isPrintable(b)) {
                BYTE_TO_CHAR[b] = (char) b;
                BYTES_IN_TABLE_ORDER[printable++] = b;
            } else {
                BYTE_TO_CHAR[b] = (char) (256 + shifted++);
            }
        }
        for (int b = 0; b < 256; b++) {
            if (!isPrintable(b)) {
                BYTES_IN_TABLE_ORDER[printable++] = b;
            }
            CHAR_TO_BYTE[BYTE_TO_CHAR[b]] = b;
        }
    }

    private ByteLevel() {}

    private static boolean isPrintable(int b) {
        return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    }

    /** The table's character for byte {@code b} (0..255). */
    static char charOf(int b) {
        return BYTE_TO_CHAR[b & 0xff];
    }

    /** The byte that id {@code id} (0..255) of a GPT-2 vocabulary stands for. */
    static int byteOfId(int id) {
        return BYTES_IN_TABLE_ORDER[id];
    }

    /** The token string for raw bytes. */
    static String toTokenString(byte[] bytes) {
        char[] chars = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            chars[i] = BYTE_TO_CHAR[bytes[i] & 0xff];
        }
        return new String(chars);
    }

    /**
     * The bytes a token string stands for. A character outside the table (not possible in a byte-level
     * vocabulary, but possible in a hand-made one) stands for its own UTF-8 bytes, as in HF's ByteLevel
     * decoder.
     */
    static byte[] toBytes(String token) {
        byte[] out = new byte[token.length()];
        int n = 0;
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b >= 0) {
                out[n++] = (byte) b;
            } else {
                int cp = token.codePointAt(i);
                byte[] utf8 = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8);
                i += Character.charCount(cp) - 1;
                if (n + utf8.length > out.length) {
                    out = java.util.Arrays.copyOf(out, out.length + utf8.length + 4);
                }
                System.arraycopy(utf8, 0, out, n, utf8.length);
                n += utf8.length;
            }
        }
        return n == out.length ? out : java.util.Arrays.copyOf(out, n);
    }

    /** The byte a single-character token stands for, or -1 when {@code c} is not in the table. */
    static int byteOfChar(char c) {
        return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }
}
