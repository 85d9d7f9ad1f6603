package org.gptneo.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.MaskedLmSettings;
import org.gptneo.model.Objective;
import org.gptneo.model.PositionEmbedding;
import org.gptneo.model.Positions;
import org.gptneo.nn.MoeSettings;
import org.gptneo.nn.SecondExpertPolicy;

/**
 * The keys of GPT-Neo's architecture variants (position embedding, mixture of experts, masked LM),
 * in config.json's snake_case or a model file's kebab-case. An absent key takes the default of
 * {@link MoeSettings#NONE}, {@link MaskedLmSettings#DEFAULT}, learned positions and causal LM; a model
 * with any variant is written with every key, a standard one with none (its config.json stays
 * exactly what Hugging Face writes).
 */
final class VariantKeys {
    /** config.json's names; a model file spells each with '-' for '_'. */
    static final List<String> NAMES = List.of("position_embedding", "axial_shape", "moe_layers", "moe_num_experts",
            "moe_top_k", "moe_hidden_size", "moe_activation", "moe_capacity_factor", "moe_eval_capacity_factor",
            "moe_min_capacity", "moe_group_size", "moe_second_policy", "moe_second_policy_eval", "moe_second_threshold",
            "moe_aux_loss_coef", "objective", "mask_token_id", "mlm_mask_prob", "mlm_same_token_prob",
            "mlm_random_token_prob");

    static final VariantKeys HF = new VariantKeys(name -> name);
    static final VariantKeys MODEL_FILE = new VariantKeys(name -> name.replace('_', '-'));

    private final UnaryOperator<String> spelling;

    private VariantKeys(UnaryOperator<String> spelling) {
        this.spelling = spelling;
    }

    /** The keys as this format spells them. */
    List<String> keys() {
        return NAMES.stream().map(spelling).toList();
    }

    /** Whether {@code c} uses any variant: then its files carry every variant key. */
    static boolean hasVariant(GptNeoConfig c) {
        return c.positions().kind() != PositionEmbedding.LEARNED || !c.moe().isEmpty() || !c.causal()
                || c.attentionLayers().stream().anyMatch(t -> t == AttentionType.LINEAR || t == AttentionType.NONE);
    }

    /** Sets the builder's variant settings from the keys present in {@code root}. */
    void read(JsonNode root, GptNeoBuilder b) {
        Json json = new Json(root);
        PositionEmbedding kind = json.text(key("position_embedding")).map(PositionEmbedding::fromConfigName)
                .orElse(PositionEmbedding.LEARNED);
        if (kind == PositionEmbedding.AXIAL) {
            int[] shape = integers(root, key("axial_shape"));
            if (shape == null || shape.length != 2) {
                throw new IllegalArgumentException(key("axial_shape") + " must be a list [a1, a2] for axial positions");
            }
            b.positions(Positions.axial(shape[0], shape[1]));
        } else {
            b.positions(kind);
        }

        MoeSettings d = MoeSettings.NONE;
        int[] layers = integers(root, key("moe_layers"));
        MoeSettings moe = new MoeSettings(layers == null ? List.of() : boxed(layers),
                json.integer(key("moe_num_experts")).orElse(d.experts()),
                json.integer(key("moe_top_k")).orElse(d.topK()),
                json.integer(key("moe_hidden_size")).isPresent() ? json.integer(key("moe_hidden_size")).getAsInt() : null,
                json.text(key("moe_activation")).orElse(d.activation()),
                json.number(key("moe_capacity_factor")).orElse(d.capacityFactor()),
                json.number(key("moe_eval_capacity_factor")).orElse(d.evalCapacityFactor()),
                json.integer(key("moe_min_capacity")).orElse(d.minCapacity()),
                json.integer(key("moe_group_size")).orElse(d.groupSize()),
                json.text(key("moe_second_policy")).map(SecondExpertPolicy::fromConfigName).orElse(d.secondPolicy()),
                json.text(key("moe_second_policy_eval")).map(SecondExpertPolicy::fromConfigName).orElse(d.secondPolicyEval()),
                json.number(key("moe_second_threshold")).orElse(d.secondThreshold()),
                json.number(key("moe_aux_loss_coef")).orElse(d.auxLossCoefficient()));
        b.moe(moe);

        b.objective(json.text(key("objective")).map(Objective::fromConfigName).orElse(Objective.CAUSAL_LM));
        MaskedLmSettings m = MaskedLmSettings.DEFAULT;
        b.maskedLm(new MaskedLmSettings(
                json.integer(key("mask_token_id")).isPresent() ? json.integer(key("mask_token_id")).getAsInt() : null,
                json.number(key("mlm_mask_prob")).orElse(m.maskProbability()),
                json.number(key("mlm_same_token_prob")).orElse(m.sameTokenProbability()),
                json.number(key("mlm_random_token_prob")).orElse(m.randomTokenProbability())));
    }

    /** Writes every variant key of {@code c} into {@code root} when it uses any variant. */
    void write(GptNeoConfig c, ObjectNode root) {
        if (!hasVariant(c)) {
            return;
        }
        Positions p = c.positions();
        root.put(key("position_embedding"), p.kind().configName());
        if (p.kind() == PositionEmbedding.AXIAL) {
            root.putArray(key("axial_shape")).add(p.axialRows()).add(p.axialColumns());
        }
        MoeSettings m = c.moe();
        ArrayNode layers = root.putArray(key("moe_layers"));
        m.layers().forEach(layers::add);
        root.put(key("moe_num_experts"), m.experts());
        root.put(key("moe_top_k"), m.topK());
        if (m.hiddenSize() == null) {
            root.putNull(key("moe_hidden_size"));
        } else {
            root.put(key("moe_hidden_size"), m.hiddenSize());
        }
        root.put(key("moe_activation"), m.activation());
        root.put(key("moe_capacity_factor"), m.capacityFactor());
        root.put(key("moe_eval_capacity_factor"), m.evalCapacityFactor());
        root.put(key("moe_min_capacity"), m.minCapacity());
        root.put(key("moe_group_size"), m.groupSize());
        root.put(key("moe_second_policy"), m.secondPolicy().configName());
        root.put(key("moe_second_policy_eval"), m.secondPolicyEval().configName());
        root.put(key("moe_second_threshold"), m.secondThreshold());
        root.put(key("moe_aux_loss_coef"), m.auxLossCoefficient());
        MaskedLmSettings mlm = c.maskedLm();
        root.put(key("objective"), c.objective().configName());
        if (mlm.maskTokenId() == null) {
            root.putNull(key("mask_token_id"));
        } else {
            root.put(key("mask_token_id"), mlm.maskTokenId());
        }
        root.put(key("mlm_mask_prob"), mlm.maskProbability());
        root.put(key("mlm_same_token_prob"), mlm.sameTokenProbability());
        root.put(key("mlm_random_token_prob"), mlm.randomTokenProbability());
    }

    private String key(String name) {
        return spelling.apply(name);
    }

    /** A list of integers, or null when absent; an error naming the key for anything else. */
    private static int[] integers(JsonNode root, String key) {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isArray() || v.size() > HfConfig.MAX_LAYERS) {
            throw new IllegalArgumentException(key + " must be a list of integers, got " + shortText(v));
        }
        int[] out = new int[v.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode e = v.get(i);
            if (!e.canConvertToExactIntegral() || !e.canConvertToInt()) {
                throw new IllegalArgumentException(key + " must be a list of integers, got " + shortText(v));
            }
            out[i] = e.asInt();
        }
        return out;
    }

    private static List<Integer> boxed(int[] values) {
        List<Integer> out = new ArrayList<>();
        for (int v : values) out.add(v);
        return out;
    }

    private static String shortText(JsonNode v) {
        String s = v.toString();
        return s.length() > 60 ? s.substring(0, 60) + "..." : s;
    }
}
