package org.gptneo.nn;

import java.util.List;

/**
 * A mixture of experts replacing the MLP of some layers, as config.json's {@code moe_*} keys give it
 * (defaults in brackets). Tokens (the batch's B·T positions, row-major) are cut into groups of
 * {@code groupSize}; each group routes with capacity C = max(minCapacity, min(S, ⌊S·factor / E⌋)).
 *
 * @param layers             0-based block indices with experts (none: no mixture)
 * @param experts            E [16]
 * @param topK               1 or 2 [2]
 * @param hiddenSize         each expert's width, or null for 4·hidden
 * @param activation         "relu" [relu] or "gelu_new"
 * @param capacityFactor     training passes [1.25]
 * @param evalCapacityFactor passes without dropout [2.0]
 * @param minCapacity        [1]
 * @param groupSize          [1024]
 * @param secondPolicy       training passes [random]
 * @param secondPolicyEval   passes without dropout [all]
 * @param secondThreshold    [0.2]
 * @param auxLossCoefficient [0.01]
 */
public record MoeSettings(List<Integer> layers, int experts, int topK, Integer hiddenSize, String activation,
                          float capacityFactor, float evalCapacityFactor, int minCapacity, int groupSize,
                          SecondExpertPolicy secondPolicy, SecondExpertPolicy secondPolicyEval, float secondThreshold,
                          float auxLossCoefficient) {

    /** No layer has experts; the other fields hold the defaults. */
    public static final MoeSettings NONE = new MoeSettings(List.of(), 16, 2, null, "relu", 1.25f, 2.0f, 1, 1024,
            SecondExpertPolicy.RANDOM, SecondExpertPolicy.ALL, 0.2f, 0.01f);

    public MoeSettings {
        layers = List.copyOf(layers);
    }

    public boolean isEmpty() {
        return layers.isEmpty();
    }

    public boolean hasLayer(int layer) {
        return layers.contains(layer);
    }

    /** Each expert's width: the configured one, or 4·hidden. */
    public int width(int hidden) {
        return hiddenSize != null ? hiddenSize : 4 * hidden;
    }

    /** The capacity factor of a pass: training ones use {@link #capacityFactor}, others the eval one. */
    public float capacityFactor(boolean training) {
        return training ? capacityFactor : evalCapacityFactor;
    }

    public SecondExpertPolicy secondPolicy(boolean training) {
        return training ? secondPolicy : secondPolicyEval;
    }

    /** Capacity per expert of a group of {@code groupTokens} tokens: max(min, min(S, ⌊S·factor / E⌋)). */
    public int capacity(int groupTokens, boolean training) {
        int byFactor = (int) Math.floor((double) groupTokens * capacityFactor(training) / experts);
        return Math.max(minCapacity, Math.min(groupTokens, byFactor));
    }

    public MoeSettings withLayers(List<Integer> newLayers) {
        return new MoeSettings(newLayers, experts, topK, hiddenSize, activation, capacityFactor, evalCapacityFactor,
                minCapacity, groupSize, secondPolicy, secondPolicyEval, secondThreshold, auxLossCoefficient);
    }
}
