package org.gptneo.parallel;

import java.util.Arrays;
import java.util.stream.IntStream;
import org.gptneo.model.GptNeoConfig;

/**
 * Megatron's tensor-parallel shard table for GPT-Neo, for rank {@code rank} of {@code ranks}: which
 * part of each Hugging Face tensor the rank holds (docs/parallel.md, "Tensor parallel"). q, k, v and
 * c_fc are split by output features (rows of the [out, in] weight, and c_fc's bias), so the rank owns
 * heads [r·H/t, (r+1)·H/t); out_proj and c_proj by input features (columns); the token embedding, which
 * is also the LM head, by rows of the vocabulary padded to a multiple of {@code vocabMultiple}·t; every
 * other tensor (LayerNorms, the row-parallel layers' biases, position tables) is replicated.
 *
 * @param paddedVocabSize V′: the vocabulary rounded up to a multiple of vocabMultiple·t; rows past V are padding
 */
public record TensorParallelLayout(int ranks, int rank, int vocabSize, int paddedVocabSize) {
    /** Megatron's default {@code make-vocab-size-divisible-by}. */
    public static final int DEFAULT_VOCAB_MULTIPLE = 128;

    /** How a tensor is cut across the ranks. */
    public enum Split {
        /** Every rank holds all of it. */
        REPLICATED,
        /** Rank r holds rows [r·n, (r+1)·n) of n = rows/t (output features of a column-parallel layer). */
        ROWS,
        /** Rank r holds columns [r·n, (r+1)·n) of n = columns/t (input features of a row-parallel layer). */
        COLUMNS,
        /** Rank r holds rows [r·V′/t, (r+1)·V′/t) of the padded vocabulary; padding rows are zero. */
        VOCABULARY_ROWS
    }

    public TensorParallelLayout {
        if (ranks < 1 || rank < 0 || rank >= ranks) {
            throw new IllegalArgumentException("rank " + rank + " of a tensor-parallel group of " + ranks + " does not exist");
        }
        if (paddedVocabSize < vocabSize || paddedVocabSize % ranks != 0) {
            throw new IllegalArgumentException("padded vocabulary " + paddedVocabSize + " must be at least " + vocabSize
                    + " and a multiple of " + ranks);
        }
    }

    /**
     * The layout of {@code config} over {@code ranks} ranks; a one-line error when the model cannot be
     * split so (heads or MLP width not divisible by the ranks, mixture-of-experts layers).
     */
    public static TensorParallelLayout of(GptNeoConfig config, int ranks, int rank, int vocabMultiple) {
        if (ranks < 1) {
            throw new IllegalArgumentException("tensor parallelism needs at least 1 rank, got " + ranks);
        }
        if (config.heads() % ranks != 0) {
            throw new IllegalArgumentException("tensor parallelism over " + ranks + " ranks needs the attention heads to split "
                    + "evenly, but " + config.heads() + " heads % " + ranks + " = " + config.heads() % ranks);
        }
        if (config.mlpWidth() % ranks != 0) {
            throw new IllegalArgumentException("tensor parallelism over " + ranks + " ranks needs the MLP width to split "
                    + "evenly, but " + config.mlpWidth() + " % " + ranks + " = " + config.mlpWidth() % ranks);
        }
        int[] experts = IntStream.range(0, config.layers()).filter(config.moe()::hasLayer).toArray();
        if (experts.length > 0) {
            throw new IllegalArgumentException("tensor parallelism splits GPT-Neo's MLP, not mixtures of experts (layers "
                    + Arrays.toString(experts) + ")");
        }
        if (vocabMultiple < 1) {
            throw new IllegalArgumentException("the vocabulary padding multiple must be at least 1, got " + vocabMultiple);
        }
        long unit = (long) vocabMultiple * ranks;
        long padded = (config.vocabSize() + unit - 1) / unit * unit;
        return new TensorParallelLayout(ranks, rank, config.vocabSize(), Math.toIntExact(padded));
    }

    /** How the tensor with this Hugging Face name is split. */
    public Split split(String name) {
        if (name.equals("transformer.wte.weight")) return Split.VOCABULARY_ROWS;
        if (name.endsWith(".attn.attention.q_proj.weight") || name.endsWith(".attn.attention.k_proj.weight")
                || name.endsWith(".attn.attention.v_proj.weight") || name.endsWith(".mlp.c_fc.weight")
                || name.endsWith(".mlp.c_fc.bias")) {
            return Split.ROWS;
        }
        if (name.endsWith(".attn.attention.out_proj.weight") || name.endsWith(".mlp.c_proj.weight")) return Split.COLUMNS;
        return Split.REPLICATED;
    }

    /** This rank's shape of the tensor {@code name} whose full shape is {@code full}. */
    public int[] localShape(String name, int[] full) {
        int[] local = full.clone();
        switch (split(name)) {
            case REPLICATED -> { }
            case ROWS -> local[0] = full[0] / ranks;
            case COLUMNS -> local[1] = full[1] / ranks;
            case VOCABULARY_ROWS -> local[0] = vocabRows();
        }
        return local;
    }

    /** V′/t: rows of the vocabulary each rank holds, padding included. */
    public int vocabRows() {
        return paddedVocabSize / ranks;
    }

    /** The first vocabulary row (token id) this rank holds. */
    public int vocabStart() {
        return rank * vocabRows();
    }

    /** Real (not padding) vocabulary rows this rank holds: ids [vocabStart, vocabStart + this); may be 0. */
    public int validVocabRows() {
        return validVocabRows(rank);
    }

    /** {@link #validVocabRows()} of rank {@code r}. */
    int validVocabRows(int r) {
        return Math.clamp(vocabSize - (long) r * vocabRows(), 0, vocabRows());
    }
}
