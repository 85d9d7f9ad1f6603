package org.gptneo.data;

/** A token source over an array, for tests of what sits on top of sources. */
final class ArrayTokens implements TokenSource {
    private final int[] tokens;

    ArrayTokens(int[] tokens) {
        this.tokens = tokens;
    }

    /** Tokens 0, 1, ..., n - 1. */
    static ArrayTokens range(int n) {
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = i;
        }
        return new ArrayTokens(tokens);
    }

    @Override
    public long length() {
        return tokens.length;
    }

    @Override
    public void read(long from, int[] dst, int offset, int count) {
        TokenRanges.check(from, dst, offset, count, tokens.length);
        System.arraycopy(tokens, (int) from, dst, offset, count);
    }

    @Override
    public String description() {
        return "array: " + tokens.length + " tokens";
    }

    @Override
    public void close() {}
}
