package org.gptneo.model;

import java.util.List;

/**
 * The validated shape and settings of a GPT-Neo model (Hugging Face's GPTNeoConfig, same meanings).
 * Make one with {@link GptNeoBuilder}; fields are already checked against each other.
 *
 * @param vocabSize         V, rows of the token embedding and of the tied LM head
 * @param contextLength     P, rows of the position embedding (max_position_embeddings)
 * @param hiddenSize        d
 * @param layers            L
 * @param heads             H; head size d/H
 * @param attentionTypes    the compressed per-layer attention list (as in config.json)
 * @param windowSize        w, keys a local-attention query sees (itself included)
 * @param intermediateSize  MLP width F, or null for 4·d
 * @param seed              seeds weight initialisation and dropout
 */
public record GptNeoConfig(
        int vocabSize,
        int contextLength,
        int hiddenSize,
        int layers,
        int heads,
        List<AttentionPattern> attentionTypes,
        int windowSize,
        Integer intermediateSize,
        Activation activation,
        float embedDropout,
        float attentionDropout,
        float residDropout,
        float layerNormEpsilon,
        float initializerRange,
        long seed,
        int bosTokenId,
        int eosTokenId) {

    public GptNeoConfig {
        attentionTypes = List.copyOf(attentionTypes);
    }

    public int headSize() {
        return hiddenSize / heads;
    }

    /** F: the configured intermediate size, or 4·d when unset. */
    public int mlpWidth() {
        return intermediateSize != null ? intermediateSize : 4 * hiddenSize;
    }

    /** The attention type of each layer, expanded from {@link #attentionTypes()}. */
    public List<AttentionType> attentionLayers() {
        return AttentionPattern.expand(attentionTypes);
    }

    /**
     * Exact number of parameters, tied LM head counted once, computed from the shape alone:
     * (V + P)·d + L·(4d² + d + 4d + 2dF + F + d) + 2d, which is 12d² + 10d per layer when F = 4d.
     */
    public long parameterCount() {
        long d = hiddenSize, f = mlpWidth();
        long embeddings = ((long) vocabSize + contextLength) * d;
        long attention = 4 * d * d + d;        // q, k, v, out_proj weights + out_proj bias
        long norms = 2 * 2 * d;                // ln_1, ln_2
        long mlp = 2 * d * f + f + d;          // c_fc, c_proj with biases
        return embeddings + layers * (attention + norms + mlp) + 2 * d;
    }

    /** A builder holding these settings, to derive a variant. */
    public GptNeoBuilder toBuilder() {
        return GptNeoBuilder.from(this);
    }
}
