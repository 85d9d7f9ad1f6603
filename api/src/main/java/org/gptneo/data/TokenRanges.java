package org.gptneo.data;

/** Bounds checks shared by the token sources, with messages that name every number involved. */
final class TokenRanges {
    private TokenRanges() {}

    /** Checks that tokens {@code [from, from + count)} of {@code length} fit {@code dst[offset, offset + count)}. */
    static void check(long from, int[] dst, int offset, int count, long length) {
        if (count < 0 || from < 0 || from > length - count) {
            throw new IndexOutOfBoundsException("tokens [" + from + ", " + (from + count) + ") are outside the source's [0, "
                    + length + ")");
        }
        if (offset < 0 || offset > dst.length - count) {
            throw new IndexOutOfBoundsException("destination range [" + offset + ", " + (offset + (long) count)
                    + ") is outside the array's [0, " + dst.length + ")");
        }
    }

    /** {@code n} with thousands separators, as in descriptions. */
    static String count(long n) {
        return String.format("%,d", n);
    }
}
