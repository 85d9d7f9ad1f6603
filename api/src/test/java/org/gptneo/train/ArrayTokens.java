package org.gptneo.train;

import org.gptneo.data.SequenceDataset;
import org.gptneo.data.TokenSource;

/** Tokens held in an array, for tests. */
record ArrayTokens(int[] tokens) implements TokenSource {

    /** A reproducible pseudo-text over {@code vocab} ids: short repeating motifs, so a model can learn it. */
    static ArrayTokens patterned(int length, int vocab, long seed) {
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        int[] motif = new int[7];
        for (int i = 0; i < motif.length; i++) motif[i] = random.nextInt(vocab);
        int[] t = new int[length];
        for (int i = 0; i < length; i++) t[i] = random.nextInt(10) == 0 ? random.nextInt(vocab) : motif[i % motif.length];
        return new ArrayTokens(t);
    }

    /** Sequences given row by row ([N, T] flattened). */
    static SequenceDataset rows(int[] flat, int seqLen) {
        return SequenceDataset.packed(new ArrayTokens(flat), seqLen);
    }

    @Override
    public long length() {
        return tokens.length;
    }

    @Override
    public void read(long from, int[] dst, int offset, int count) {
        System.arraycopy(tokens, Math.toIntExact(from), dst, offset, count);
    }

    @Override
    public String description() {
        return "array of " + tokens.length + " tokens";
    }

    @Override
    public void close() {}
}
