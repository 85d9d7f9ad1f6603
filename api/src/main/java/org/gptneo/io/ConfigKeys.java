package org.gptneo.io;

import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.gptneo.model.InvalidConfigException;

/**
 * The builder's field names as a config file spells them, so that a rule the builder enforces is
 * reported with the key the user wrote: {@code num_heads} in a config.json, {@code heads} in a model
 * file, never the Java field {@code heads} of the other format.
 */
final class ConfigKeys {
    /** Hugging Face config.json keys (num_layers/num_heads; see {@link #hfConfig} for the aliases). */
    static final Map<String, String> HF = Map.ofEntries(
            Map.entry("vocabSize", "vocab_size"), Map.entry("contextLength", "max_position_embeddings"),
            Map.entry("hiddenSize", "hidden_size"), Map.entry("layers", "num_layers"), Map.entry("heads", "num_heads"),
            Map.entry("attentionTypes", "attention_types"), Map.entry("windowSize", "window_size"),
            Map.entry("intermediateSize", "intermediate_size"), Map.entry("activation", "activation_function"),
            Map.entry("embedDropout", "embed_dropout"), Map.entry("attentionDropout", "attention_dropout"),
            Map.entry("residDropout", "resid_dropout"), Map.entry("layerNormEpsilon", "layer_norm_epsilon"),
            Map.entry("initializerRange", "initializer_range"), Map.entry("bosTokenId", "bos_token_id"),
            Map.entry("eosTokenId", "eos_token_id"), Map.entry("maskTokenId", "mask_token_id"),
            Map.entry("topK", "moe_top_k"), Map.entry("experts", "moe_num_experts"), Map.entry("expertLayers", "moe_layers"),
            Map.entry("expertHiddenSize", "moe_hidden_size"), Map.entry("minCapacity", "moe_min_capacity"),
            Map.entry("groupSize", "moe_group_size"), Map.entry("secondThreshold", "moe_second_threshold"),
            Map.entry("auxLossCoefficient", "moe_aux_loss_coef"), Map.entry("maskProbability", "mlm_mask_prob"),
            Map.entry("sameTokenProbability", "mlm_same_token_prob"), Map.entry("randomTokenProbability", "mlm_random_token_prob"),
            Map.entry("expertActivation", "moe_activation"), Map.entry("capacityFactor", "moe_capacity_factor"),
            Map.entry("evalCapacityFactor", "moe_eval_capacity_factor"), Map.entry("secondPolicyEval", "moe_second_policy_eval"));

    /** Model file keys ({@link ModelConfigFile}). */
    static final Map<String, String> MODEL_FILE = Map.ofEntries(
            Map.entry("vocabSize", "vocab-size"), Map.entry("contextLength", "context-length"),
            Map.entry("hiddenSize", "hidden-size"), Map.entry("layers", "layers"), Map.entry("heads", "heads"),
            Map.entry("attentionTypes", "attention"), Map.entry("windowSize", "window-size"),
            Map.entry("intermediateSize", "intermediate-size"), Map.entry("activation", "activation"),
            Map.entry("embedDropout", "embed-dropout"), Map.entry("attentionDropout", "attention-dropout"),
            Map.entry("residDropout", "resid-dropout"), Map.entry("layerNormEpsilon", "layer-norm-epsilon"),
            Map.entry("initializerRange", "initializer-range"), Map.entry("bosTokenId", "bos-token-id"),
            Map.entry("eosTokenId", "eos-token-id"), Map.entry("maskTokenId", "mask-token-id"),
            Map.entry("topK", "moe-top-k"), Map.entry("experts", "moe-num-experts"), Map.entry("expertLayers", "moe-layers"),
            Map.entry("expertHiddenSize", "moe-hidden-size"), Map.entry("minCapacity", "moe-min-capacity"),
            Map.entry("groupSize", "moe-group-size"), Map.entry("secondThreshold", "moe-second-threshold"),
            Map.entry("auxLossCoefficient", "moe-aux-loss-coef"), Map.entry("maskProbability", "mlm-mask-prob"),
            Map.entry("sameTokenProbability", "mlm-same-token-prob"), Map.entry("randomTokenProbability", "mlm-random-token-prob"),
            Map.entry("expertActivation", "moe-activation"), Map.entry("capacityFactor", "moe-capacity-factor"),
            Map.entry("evalCapacityFactor", "moe-eval-capacity-factor"), Map.entry("secondPolicyEval", "moe-second-policy-eval"));

    /** A field name where the builder's messages use one as a key: before " (", " must", " is", " expand" or " '". */
    private static final Pattern FIELD = Pattern.compile("\\b("
            + HF.keySet().stream().sorted(Comparator.comparing(String::length).reversed()).collect(Collectors.joining("|"))
            + ")\\b(?= \\(| must\\b| is\\b| expand\\b| names\\b| ')");

    private ConfigKeys() {}

    /** {@link #HF}, with num_hidden_layers/num_attention_heads when the file uses those aliases. */
    static Map<String, String> hfConfig(com.fasterxml.jackson.databind.JsonNode root) {
        Map<String, String> keys = new HashMap<>(HF);
        if (!root.hasNonNull("num_layers") && root.hasNonNull("num_hidden_layers")) {
            keys.put("layers", "num_hidden_layers");
        }
        if (!root.hasNonNull("num_heads") && root.hasNonNull("num_attention_heads")) {
            keys.put("heads", "num_attention_heads");
        }
        return keys;
    }

    /** The builder's message with each field name replaced by the file's key. */
    static String rename(String message, Map<String, String> keys) {
        Matcher m = FIELD.matcher(message);
        return m.replaceAll(r -> Matcher.quoteReplacement(keys.getOrDefault(r.group(1), r.group(1))));
    }

    /** The same exception type, its message in the file's keys. */
    static InvalidConfigException renamed(InvalidConfigException e, Map<String, String> keys) {
        InvalidConfigException out = new InvalidConfigException(rename(e.getMessage(), keys));
        out.initCause(e);
        return out;
    }
}
