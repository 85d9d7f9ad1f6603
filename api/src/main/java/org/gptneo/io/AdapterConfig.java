package org.gptneo.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.gptneo.lora.LoRA;

/**
 * PEFT's {@code adapter_config.json} for a LoRA adapter: what {@link AdapterCheckpoint} writes and
 * the subset of PEFT's settings it reads. Settings this library does not implement are refused by
 * name rather than ignored: {@code bias} other than "none", {@code use_rslora}, {@code use_dora},
 * {@code fan_in_fan_out}, {@code modules_to_save}, {@code layers_to_transform}, {@code rank_pattern},
 * {@code alpha_pattern}, and {@code target_modules} given as a regular expression.
 *
 * @param lora                 rank, alpha, dropout and targets
 * @param baseModelNameOrPath  {@code base_model_name_or_path}, or null
 */
record AdapterConfig(LoRA lora, String baseModelNameOrPath) {
    /** PEFT's LoraConfig defaults for keys a file leaves out. */
    private static final int PEFT_DEFAULT_RANK = 8;
    private static final float PEFT_DEFAULT_ALPHA = 8;

    /** The JSON PEFT writes, keys in PEFT's meaning; alpha as an integer when it is one (as PEFT users give it). */
    ObjectNode toJson() {
        ObjectNode o = HfConfig.JSON.createObjectNode();
        o.put("peft_type", "LORA");
        o.put("task_type", "CAUSAL_LM");
        o.put("r", lora.rank());
        float alpha = lora.alpha();
        if (alpha == Math.rint(alpha) && Math.abs(alpha) < 1e9f) o.put("lora_alpha", (long) alpha);
        else o.put("lora_alpha", alpha);
        o.put("lora_dropout", lora.dropout());
        ArrayNode targets = o.putArray("target_modules");
        lora.targets().forEach(targets::add);
        o.put("bias", "none");
        o.put("fan_in_fan_out", false);
        o.put("inference_mode", true);
        o.put("init_lora_weights", true);
        o.putNull("modules_to_save");
        o.put("use_rslora", false);
        if (baseModelNameOrPath == null) o.putNull("base_model_name_or_path");
        else o.put("base_model_name_or_path", baseModelNameOrPath);
        o.putNull("revision");
        return o;
    }

    /** Reads and validates {@code file}; one-line {@link CheckpointException}s naming the file and the key. */
    static AdapterConfig read(Path file) {
        String label = SafeTensorsFile.label(file);
        JsonNode root;
        try {
            root = HfConfig.JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new CheckpointException(label + ": not readable JSON (" + oneLine(e.getMessage()) + ")", e);
        }
        try {
            return fromJson(root);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(label + ": " + e.getMessage(), e);
        }
    }

    private static AdapterConfig fromJson(JsonNode root) {
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("must be a JSON object");
        }
        Json json = new Json(root);
        String type = json.text("peft_type").orElseThrow(() -> new IllegalArgumentException("peft_type is missing (expected \"LORA\")"));
        if (!type.equals("LORA")) {
            throw new IllegalArgumentException("peft_type is \"" + printable(type) + "\"; only \"LORA\" adapters are supported");
        }
        String bias = json.text("bias").orElse("none");
        if (!bias.equals("none")) {
            throw new IllegalArgumentException("bias is \"" + printable(bias) + "\"; only \"none\" is supported (no trained biases)");
        }
        refuseTrue(root, "use_rslora", "rank-stabilised scaling alpha/sqrt(r) is not supported");
        refuseTrue(root, "use_dora", "DoRA is not supported");
        refuseTrue(root, "fan_in_fan_out", "GPT-Neo's projections are nn.Linear, stored [out, in]");
        refuseSet(root, "modules_to_save", "fully trained modules are not supported");
        refuseSet(root, "layers_to_transform", "adapters on some layers only are not supported");
        refuseSet(root, "rank_pattern", "per-module ranks are not supported");
        refuseSet(root, "alpha_pattern", "per-module alphas are not supported");
        int rank = json.integer("r").orElse(PEFT_DEFAULT_RANK);
        float alpha = json.number("lora_alpha").orElse(PEFT_DEFAULT_ALPHA);
        float dropout = json.number("lora_dropout").orElse(0f);
        LoRA lora = LoRA.rank(rank).alpha(alpha).dropout(dropout).targets(targets(root.get("target_modules")));
        return new AdapterConfig(lora, json.text("base_model_name_or_path").orElse(null));
    }

    private static String[] targets(JsonNode node) {
        if (node == null || node.isNull()) {
            throw new IllegalArgumentException("target_modules is missing (expected a list such as [\"q_proj\", \"v_proj\"])");
        }
        if (node.isTextual()) {
            throw new IllegalArgumentException("target_modules is the regular expression \"" + printable(node.asText())
                    + "\"; give a list of module names from " + LoRA.KNOWN_TARGETS);
        }
        if (!node.isArray()) {
            throw new IllegalArgumentException("target_modules must be a list of module names, got " + oneLine(node.toString()));
        }
        List<String> names = new ArrayList<>();
        for (JsonNode n : node) {
            if (!n.isTextual()) {
                throw new IllegalArgumentException("target_modules must hold strings, got " + oneLine(n.toString()));
            }
            if (!LoRA.KNOWN_TARGETS.contains(n.asText())) {
                throw new IllegalArgumentException("target_modules names unknown module \"" + printable(n.asText())
                        + "\"; GPT-Neo's are " + LoRA.KNOWN_TARGETS);
            }
            names.add(n.asText());
        }
        return names.toArray(String[]::new);
    }

    private static void refuseTrue(JsonNode root, String key, String why) {
        JsonNode v = root.get(key);
        if (v != null && !v.isNull() && !(v.isBoolean() && !v.asBoolean())) {
            throw new IllegalArgumentException(key + " is " + oneLine(v.toString()) + ": " + why);
        }
    }

    private static void refuseSet(JsonNode root, String key, String why) {
        JsonNode v = root.get(key);
        if (v != null && !v.isNull() && !(v.isContainerNode() && v.isEmpty())) {
            throw new IllegalArgumentException(key + " is " + oneLine(v.toString()) + ": " + why);
        }
    }

    private static String printable(String s) {
        return HfCheckpoint.printable(s);
    }

    private static String oneLine(String s) {
        String m = s == null ? "" : s.replaceAll("\\s+", " ").strip();
        return m.length() > 120 ? m.substring(0, 120) + "..." : m;
    }
}
