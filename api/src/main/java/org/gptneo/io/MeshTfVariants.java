package org.gptneo.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.MaskedLmSettings;
import org.gptneo.model.Objective;
import org.gptneo.model.PositionEmbedding;
import org.gptneo.model.Positions;
import org.gptneo.nn.MoeSettings;
import org.gptneo.nn.SecondExpertPolicy;

/**
 * The mesh-tf keys of GPT-Neo's variants mapped to issue 9's contract (spec sections 11.4, 11.5, 11.7):
 *
 * <ul>
 *   <li>{@code moe_layers} → moe_layers; {@code moe_activation} → moe_activation ("relu", "gelu");
 *       {@code moe_params}: moe_num_experts, moe_hidden_size, moe_group_size, moe_loss_coef →
 *       moe_aux_loss_coef, moe_capacity_factor_train / _eval, moe_min_expert_capacity → moe_min_capacity
 *       (GPT-Neo's default 1), moe_second_policy_train / _eval, moe_second_threshold_train (and _eval,
 *       which must then agree), moe_gating "top_2" (default) or "switch" (top-1); moe_dropout_rate
 *       must be 0 and moe_use_second_place_loss false (not built); any other key is refused;</li>
 *   <li>{@code axial_pos_emb} (README: axial_pos_emb_) [a1, a2] → axial positions; {@code rotary_emb}
 *       true → rotary (wins over axial, as in mesh-tf);</li>
 *   <li>{@code mlm_training} true → masked_lm with mlm_mask_id → mask_token_id, mlm_mask_prob,
 *       mlm_same_token_prob, mlm_random_token_prob (mesh-tf's code default 0.0); mlm_cls_token_id and a
 *       non-empty mlm_mask_ignore_ids are refused (no equivalent).</li>
 * </ul>
 * mesh-tf's eval second policy defaults to "random" where the contract's is "all" (random is a
 * training-only policy here): an absent key takes the contract's default, an explicit "random" is refused.
 */
final class MeshTfVariants {
    private static final Map<String, String> MOE_PARAMS = Map.ofEntries(
            Map.entry("moe_num_experts", "experts"), Map.entry("moe_hidden_size", "hidden size"),
            Map.entry("moe_group_size", "group size"), Map.entry("moe_loss_coef", "aux loss coefficient"),
            Map.entry("moe_capacity_factor_train", "capacity factor"), Map.entry("moe_capacity_factor_eval", "eval capacity factor"),
            Map.entry("moe_min_expert_capacity", "min capacity"), Map.entry("moe_second_policy_train", "second policy"),
            Map.entry("moe_second_policy_eval", "eval second policy"), Map.entry("moe_second_threshold_train", "threshold"),
            Map.entry("moe_second_threshold_eval", "threshold"), Map.entry("moe_gating", "top-k"),
            Map.entry("moe_dropout_rate", "expert dropout"), Map.entry("moe_use_second_place_loss", "second-place loss"));

    private MeshTfVariants() {}

    static void read(JsonNode root, GptNeoBuilder b) {
        readPositions(root, b);
        readExperts(root, b);
        readMaskedLm(root, b);
    }

    private static void readPositions(JsonNode root, GptNeoBuilder b) {
        JsonNode rotary = root.get("rotary_emb");
        if (rotary != null && rotary.isBoolean() && rotary.booleanValue()) {
            b.positions(PositionEmbedding.ROTARY);
            return;
        }
        String key = root.hasNonNull("axial_pos_emb") ? "axial_pos_emb" : "axial_pos_emb_";
        JsonNode axial = root.get(key);
        if (axial != null && !axial.isNull() && !(axial.isArray() && axial.isEmpty())) {
            if (!axial.isArray() || axial.size() != 2 || !axial.get(0).canConvertToInt() || !axial.get(1).canConvertToInt()) {
                throw new IllegalArgumentException(key + " must be [a1, a2], got " + axial);
            }
            b.positions(Positions.axial(axial.get(0).asInt(), axial.get(1).asInt()));
        }
    }

    private static void readExperts(JsonNode root, GptNeoBuilder b) {
        JsonNode layers = root.get("moe_layers");
        if (layers == null || layers.isNull() || layers.isArray() && layers.isEmpty()) {
            return;
        }
        if (!layers.isArray()) {
            throw new IllegalArgumentException("moe_layers must be a list of layer indices, got " + layers);
        }
        List<Integer> indices = new ArrayList<>();
        for (JsonNode i : layers) {
            if (!i.canConvertToExactIntegral() || !i.canConvertToInt()) {
                throw new IllegalArgumentException("moe_layers must be a list of layer indices, got " + layers);
            }
            indices.add(i.asInt());
        }
        MoeSettings d = MoeSettings.NONE;
        JsonNode params = root.hasNonNull("moe_params") ? root.get("moe_params") : HfConfig.JSON.createObjectNode();
        if (!params.isObject()) {
            throw new IllegalArgumentException("moe_params must be an object, got " + params);
        }
        for (Iterator<String> it = params.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!MOE_PARAMS.containsKey(k)) {
                throw new IllegalArgumentException("moe_params." + k + " has no GPT-Neo equivalent");
            }
        }
        Json p = new Json(params);
        if (p.number("moe_dropout_rate").orElse(0f) != 0f) {
            throw new IllegalArgumentException("moe_params.moe_dropout_rate (dropout inside experts) is not supported; set it to 0");
        }
        if (params.path("moe_use_second_place_loss").asBoolean(false)) {
            throw new IllegalArgumentException("moe_params.moe_use_second_place_loss is not supported");
        }
        float threshold = p.number("moe_second_threshold_train").orElse(d.secondThreshold());
        if (p.number("moe_second_threshold_eval").map(t -> t != threshold).orElse(false)) {
            throw new IllegalArgumentException("moe_params.moe_second_threshold_eval differs from moe_second_threshold_train"
                    + " (GPT-Neo has one threshold)");
        }
        String gating = p.text("moe_gating").orElse("top_2");
        int topK = switch (gating) {
            case "top_2" -> 2;
            case "switch" -> 1;
            default -> throw new IllegalArgumentException("moe_params.moe_gating '" + gating + "' is not one of top_2, switch");
        };
        String activation = new Json(root).text("moe_activation").orElse(d.activation());
        b.moe(new MoeSettings(indices, p.integer("moe_num_experts").orElse(d.experts()), topK,
                p.integer("moe_hidden_size").isPresent() ? p.integer("moe_hidden_size").getAsInt() : null,
                activation.equals("gelu") ? "gelu_new" : activation,
                p.number("moe_capacity_factor_train").orElse(d.capacityFactor()),
                p.number("moe_capacity_factor_eval").orElse(d.evalCapacityFactor()),
                p.integer("moe_min_expert_capacity").orElse(d.minCapacity()),
                p.integer("moe_group_size").orElse(d.groupSize()),
                p.text("moe_second_policy_train").map(SecondExpertPolicy::fromConfigName).orElse(d.secondPolicy()),
                p.text("moe_second_policy_eval").map(SecondExpertPolicy::fromConfigName).orElse(d.secondPolicyEval()),
                threshold, p.number("moe_loss_coef").orElse(d.auxLossCoefficient())));
    }

    private static void readMaskedLm(JsonNode root, GptNeoBuilder b) {
        JsonNode mlm = root.get("mlm_training");
        boolean masked = mlm != null && mlm.isBoolean() && mlm.booleanValue();
        JsonNode causal = root.get("causal");
        if (!masked && causal != null && causal.isBoolean() && !causal.booleanValue()) {
            throw new IllegalArgumentException("causal = false without mlm_training has no GPT-Neo equivalent");
        }
        if (!masked) {
            return;
        }
        if (root.hasNonNull("mlm_cls_token_id")) {
            throw new IllegalArgumentException("mlm_cls_token_id (a prepended CLS token) has no GPT-Neo equivalent");
        }
        JsonNode ignore = root.get("mlm_mask_ignore_ids");
        if (ignore != null && !ignore.isNull() && !(ignore.isArray() && ignore.isEmpty())) {
            throw new IllegalArgumentException("mlm_mask_ignore_ids has no GPT-Neo equivalent");
        }
        Json json = new Json(root);
        MaskedLmSettings d = MaskedLmSettings.DEFAULT;
        b.objective(Objective.MASKED_LM).maskedLm(new MaskedLmSettings(
                json.integer("mlm_mask_id").isPresent() ? json.integer("mlm_mask_id").getAsInt() : null,
                json.number("mlm_mask_prob").orElse(d.maskProbability()),
                json.number("mlm_same_token_prob").orElse(d.sameTokenProbability()),
                json.number("mlm_random_token_prob").orElse(0f)));
    }
}
