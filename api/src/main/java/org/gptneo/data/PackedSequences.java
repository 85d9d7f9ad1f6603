package org.gptneo.data;

import java.util.Objects;

/** Consecutive windows of {@code seqLen} tokens; the tail shorter than a window is dropped. */
final class PackedSequences implements SequenceDataset {
    private final TokenSource tokens;
    private final int seqLen;
    private final long size;

    PackedSequences(TokenSource tokens, int seqLen) {
        this.tokens = Objects.requireNonNull(tokens, "tokens");
        if (seqLen < 1) {
            throw new IllegalArgumentException("sequence length must be >= 1, got " + seqLen);
        }
        if (tokens.length() < seqLen) {
            throw new IllegalArgumentException("the source has " + tokens.length() + " tokens, fewer than one sequence of "
                    + seqLen + ": " + tokens.description());
        }
        this.seqLen = seqLen;
        this.size = tokens.length() / seqLen;
    }

    @Override
    public int seqLen() {
        return seqLen;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public void read(long index, int[] dst, int offset) {
        if (index < 0 || index >= size) {
            throw new IndexOutOfBoundsException("sequence " + index + " is outside [0, " + size + ")");
        }
        tokens.read(index * seqLen, dst, offset, seqLen);
    }

    @Override
    public String toString() {
        return size + " sequences of " + seqLen + " tokens from " + tokens.description();
    }
}
