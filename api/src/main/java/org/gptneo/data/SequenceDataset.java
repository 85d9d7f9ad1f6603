package org.gptneo.data;

/**
 * Fixed-length training sequences. {@link #packed} cuts a {@link TokenSource} into consecutive windows
 * (documents run across window edges, separated by EOS, as GPT-Neo was trained); {@link #split} divides
 * the sequences into training and validation sets. Implementations are views: they copy nothing.
 */
public interface SequenceDataset {
    /** The tokens per sequence. */
    int seqLen();

    /** The number of sequences. */
    long size();

    /**
     * Copies the {@link #seqLen()} tokens of sequence {@code index} into {@code dst[offset, offset + seqLen)}.
     *
     * @throws IndexOutOfBoundsException when {@code index} is outside {@code [0, size())} or {@code dst} is too short
     */
    void read(long index, int[] dst, int offset);

    /**
     * Sequence {@code i} = tokens {@code [i * seqLen, (i + 1) * seqLen)}; the tail shorter than
     * {@code seqLen} is dropped.
     *
     * @throws IllegalArgumentException when {@code seqLen < 1} or the source has fewer than {@code seqLen} tokens
     */
    static SequenceDataset packed(TokenSource tokens, int seqLen) {
        return new PackedSequences(tokens, seqLen);
    }

    /**
     * A deterministic split by {@code seed}: {@code round(validationFraction * size())} sequences (at least
     * 1, and at least 1 left for training) chosen by a seeded permutation go to validation, the rest to
     * training. Both are views of this dataset, in permuted order; the same (size, fraction, seed) always
     * gives the same split.
     *
     * @throws IllegalArgumentException when the fraction is not in (0, 1) or there are fewer than 2 sequences
     */
    default Split split(double validationFraction, long seed) {
        if (!(validationFraction > 0 && validationFraction < 1)) {
            throw new IllegalArgumentException("validation fraction must be in (0, 1), got " + validationFraction);
        }
        long size = size();
        if (size < 2) {
            throw new IllegalArgumentException("a split needs at least 2 sequences (1 for training, 1 for validation), got "
                    + size);
        }
        long validation = Math.min(size - 1, Math.max(1, Math.round(validationFraction * size)));
        ShuffledOrder order = new ShuffledOrder(size, seed ^ SubsetSequences.SPLIT_SALT);
        return new Split(new SubsetSequences(this, order, validation, size - validation),
                new SubsetSequences(this, order, 0, validation));
    }
}
