package org.gptneo.model;

import java.util.List;
import org.gptneo.nn.MoeSettings;

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
 * @param positions         learned (wpe), axial or rotary positions
 * @param moe               the layers whose MLP is a mixture of experts, and its settings
 * @param objective         causal or masked language modelling
 * @param maskedLm          masking settings (used by masked-LM models)
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
        int eosTokenId,
        Positions positions,
        MoeSettings moe,
        Objective objective,
        MaskedLmSettings maskedLm) {

    public GptNeoConfig {
        attentionTypes = List.copyOf(attentionTypes);
    }

    /** Whether attention is causal: every objective but masked language modelling. */
    public boolean causal() {
        return objective != Objective.MASKED_LM;
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
     * Exact number of parameters, tied LM head counted once, computed from the shape alone. With
     * learned positions and no variant: (V + P)·d + L·(4d² + d + 4d + 2dF + F + d) + 2d, which is
     * 12d² + 10d per layer when F = 4d. A layer without attention lacks ln_1 and the attention
     * weights; a mixture-of-experts layer has a gate E·d and E experts of 2·d·H (no biases).
     */
    public long parameterCount() {
        long d = hiddenSize, f = mlpWidth();
        long positionRows = switch (positions.kind()) {
            case LEARNED -> contextLength;
            case AXIAL -> positions.axialRows() + positions.axialColumns();
            case ROTARY -> 0;
        };
        long total = ((long) vocabSize + positionRows) * d + 2 * d;   // embeddings, ln_f
        List<AttentionType> kinds = attentionLayers();
        for (int i = 0; i < layers; i++) {
            if (kinds.get(i) != AttentionType.NONE) {
                total += 4 * d * d + d + 2 * d;      // q, k, v, out_proj weights + out_proj bias; ln_1
            }
            total += 2 * d;                          // ln_2
            total += moe.hasLayer(i)
                    ? moe.experts() * (d + 2 * d * moe.width(hiddenSize))   // gate row + c_fc, c_proj per expert
                    : 2 * d * f + f + d;                                     // c_fc, c_proj with biases
        }
        return total;
    }

    /** A builder holding these settings, to derive a variant. */
    public GptNeoBuilder toBuilder() {
        return GptNeoBuilder.from(this);
    }
}
