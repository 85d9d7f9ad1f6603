package org.gptneo.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.gptneo.model.AttentionPattern;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.InvalidConfigException;

/**
 * Hugging Face {@code config.json} for GPT-Neo ({@code model_type "gpt_neo"}).
 *
 * <p>Required: {@code hidden_size}, {@code num_layers} and {@code num_heads} ({@code num_hidden_layers}
 * and {@code num_attention_heads} are accepted as aliases). Hugging Face's GPTNeoConfig has defaults
 * for them too, but a checkpoint folder whose config.json lacks one is almost surely broken, and a
 * default that disagrees with the weights would only surface later as a puzzling shape error: a
 * missing one is reported as {@code missing key 'hidden_size'}. Every other key takes the GPTNeoConfig
 * default when missing ({@code vocab_size} 50257, {@code max_position_embeddings} 2048,
 * {@code window_size} 256, ...); {@code bos_token_id}/{@code eos_token_id} may lie outside the
 * vocabulary (HF writes 50256 even for tiny test models). Keys without architectural meaning are
 * ignored. Rule violations name the file's own keys ({@code num_heads}, not the builder's {@code heads}).
 *
 * <p>The layer pattern comes from {@code attention_types} (the compressed form); a config with only
 * the expanded {@code attention_layers} list is accepted too (compressed to its shortest repeating
 * pattern). When both are present they must agree. Without either, layers alternate global, local
 * (HF's default pattern). At most {@link #MAX_LAYERS} layers (a sanity bound that keeps a corrupt
 * file from allocating huge lists).
 */
public final class HfConfig {
    static final ObjectMapper JSON = new ObjectMapper();
    /** Sanity bound on num_layers and on the expanded attention_types. */
    public static final int MAX_LAYERS = 100_000;

    private HfConfig() {}

    /** Reads and validates a config.json file. */
    public static GptNeoConfig read(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new CheckpointException(file.getFileName() + ": not readable JSON (" + firstLine(e.getMessage()) + ")", e);
        }
        try {
            return fromJson(root);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(file.getFileName() + ": " + e.getMessage(), e);
        }
    }

    /** Builds the configuration from a parsed config.json object. */
    public static GptNeoConfig fromJson(JsonNode root) {
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("config must be a JSON object");
        }
        JsonNode type = root.get("model_type");
        if (type != null && !type.isNull() && !"gpt_neo".equals(type.asText())) {
            throw new IllegalArgumentException("model_type is '" + type.asText() + "', not 'gpt_neo'");
        }
        GptNeoBuilder b = GptNeoBuilder.create();
        Json json = new Json(root);
        json.integer("vocab_size").ifPresent(b::vocabSize);
        json.integer("max_position_embeddings").ifPresent(b::contextLength);
        b.hiddenSize(required(json, "hidden_size"));
        int layerCount = required(json, "num_layers", "num_hidden_layers");
        if (layerCount > MAX_LAYERS) {
            throw new IllegalArgumentException("num_layers " + layerCount + " is more than " + MAX_LAYERS);
        }
        b.layers(layerCount);
        b.heads(required(json, "num_heads", "num_attention_heads"));
        json.integer("window_size").ifPresent(b::windowSize);
        if (root.has("intermediate_size")) {
            b.intermediateSize(root.get("intermediate_size").isNull() ? null : json.integer("intermediate_size").getAsInt());
        }
        json.text("activation_function").ifPresent(b::activation);
        json.number("embed_dropout").ifPresent(b::embedDropout);
        json.number("attention_dropout").ifPresent(b::attentionDropout);
        json.number("resid_dropout").ifPresent(b::residDropout);
        json.number("layer_norm_epsilon").ifPresent(b::layerNormEpsilon);
        json.number("initializer_range").ifPresent(b::initializerRange);
        json.integer("bos_token_id").ifPresent(b::bosTokenId);
        json.integer("eos_token_id").ifPresent(b::eosTokenId);
        List<AttentionType> layers = root.hasNonNull("attention_layers") ? parseAttentionLayers(root.get("attention_layers")) : null;
        if (root.hasNonNull("attention_types")) {
            List<AttentionPattern> types = parseAttentionTypes(root.get("attention_types"));
            if (layers != null && !AttentionPattern.expand(types).equals(layers)) {
                throw new IllegalArgumentException("attention_layers " + names(layers) + " disagrees with attention_types "
                        + attentionTypesJson(types));
            }
            b.attentionTypes(types);
        } else if (layers != null) {
            b.attentionTypes(compress(layers));
        } else {
            // HF's default [[["global","local"],12]] for 24 layers; GptNeoBuilder's default pattern is the same
            b.attention(AttentionType.GLOBAL, AttentionType.LOCAL);
        }
        VariantKeys.HF.read(root, b);
        try {
            return b.config();
        } catch (InvalidConfigException e) {
            throw ConfigKeys.renamed(e, ConfigKeys.hfConfig(root));
        }
    }

    /** The value of {@code key} (or of its alias), which must be present. */
    private static int required(Json json, String key, String... aliases) {
        String[] keys = new String[aliases.length + 1];
        keys[0] = key;
        System.arraycopy(aliases, 0, keys, 1, aliases.length);
        OptionalInt v = json.integer(keys);
        if (v.isEmpty()) {
            throw new IllegalArgumentException("missing key '" + key + "'"
                    + (aliases.length == 0 ? "" : " (or its alias '" + String.join("', '", aliases) + "')"));
        }
        return v.getAsInt();
    }

    /**
     * Parses the compressed form [[["global","local"],12], ...]; the expanded length must not exceed
     * {@link #MAX_LAYERS}.
     */
    public static List<AttentionPattern> parseAttentionTypes(JsonNode node) {
        if (!node.isArray() || node.isEmpty()) {
            throw new IllegalArgumentException("attention_types must be a non-empty list of [pattern, count] pairs");
        }
        List<AttentionPattern> patterns = new ArrayList<>();
        long expanded = 0;
        for (JsonNode pair : node) {
            if (!pair.isArray() || pair.size() != 2 || !pair.get(0).isArray() || !pair.get(1).canConvertToExactIntegral()
                    || !pair.get(1).canConvertToInt()) {
                throw new IllegalArgumentException("attention_types entry " + shortText(pair) + " is not a [pattern, count] pair");
            }
            List<AttentionType> pattern = new ArrayList<>();
            for (JsonNode name : pair.get(0)) {
                if (!name.isTextual()) {
                    throw new IllegalArgumentException("attention_types entry " + shortText(pair) + " names a non-string type");
                }
                pattern.add(AttentionType.fromConfigName(name.asText()));
            }
            int repeat = pair.get(1).asInt();
            if (repeat >= 1) {
                expanded += (long) pattern.size() * repeat;
            }
            if (expanded > MAX_LAYERS) {
                throw new IllegalArgumentException("attention_types expands to more than " + MAX_LAYERS + " layers");
            }
            patterns.add(new AttentionPattern(pattern, repeat));
        }
        return patterns;
    }

    /** Parses the expanded list ["global","local",...]. */
    static List<AttentionType> parseAttentionLayers(JsonNode node) {
        if (!node.isArray() || node.isEmpty()) {
            throw new IllegalArgumentException("attention_layers must be a non-empty list of attention types");
        }
        if (node.size() > MAX_LAYERS) {
            throw new IllegalArgumentException("attention_layers has more than " + MAX_LAYERS + " entries");
        }
        List<AttentionType> layers = new ArrayList<>();
        for (JsonNode name : node) {
            if (!name.isTextual()) {
                throw new IllegalArgumentException("attention_layers holds " + shortText(name) + ", not a type name");
            }
            layers.add(AttentionType.fromConfigName(name.asText()));
        }
        return layers;
    }

    /** The shortest pattern whose repetition is {@code layers}: [g,l,g,l] → [[[g,l],2]]. */
    static List<AttentionPattern> compress(List<AttentionType> layers) {
        int n = layers.size();
        for (int p = 1; p <= n; p++) {
            if (n % p != 0) continue;
            boolean repeats = true;
            for (int i = p; i < n && repeats; i++) {
                repeats = layers.get(i) == layers.get(i % p);
            }
            if (repeats) {
                return List.of(new AttentionPattern(layers.subList(0, p), n / p));
            }
        }
        throw new AssertionError("unreachable: p = n always repeats");
    }

    private static String names(List<AttentionType> layers) {
        List<String> out = new ArrayList<>();
        layers.forEach(t -> out.add(t.configName()));
        return shortText(out.toString());
    }

    private static String shortText(Object node) {
        String s = String.valueOf(node).replaceAll("\\s+", " ");
        return s.length() > 100 ? s.substring(0, 100) + "..." : s;
    }

    /** The config.json object Hugging Face's GPTNeoConfig reads (with the expanded attention_layers too). */
    public static ObjectNode toJson(GptNeoConfig c) {
        ObjectNode root = JSON.createObjectNode();
        root.putArray("architectures").add("GPTNeoForCausalLM");
        root.put("model_type", "gpt_neo");
        root.put("vocab_size", c.vocabSize());
        root.put("max_position_embeddings", c.contextLength());
        root.put("hidden_size", c.hiddenSize());
        root.put("num_layers", c.layers());
        root.put("num_heads", c.heads());
        root.set("attention_types", attentionTypesJson(c.attentionTypes()));
        ArrayNode layers = root.putArray("attention_layers");
        c.attentionLayers().forEach(t -> layers.add(t.configName()));
        root.put("window_size", c.windowSize());
        if (c.intermediateSize() == null) {
            root.putNull("intermediate_size");
        } else {
            root.put("intermediate_size", c.intermediateSize());
        }
        root.put("activation_function", c.activation().configName());
        root.put("embed_dropout", c.embedDropout());
        root.put("attention_dropout", c.attentionDropout());
        root.put("resid_dropout", c.residDropout());
        root.put("layer_norm_epsilon", c.layerNormEpsilon());
        root.put("initializer_range", c.initializerRange());
        root.put("bos_token_id", c.bosTokenId());
        root.put("eos_token_id", c.eosTokenId());
        root.put("use_cache", true);
        root.put("torch_dtype", "float32");
        VariantKeys.HF.write(c, root);
        return root;
    }

    static ArrayNode attentionTypesJson(List<AttentionPattern> patterns) {
        ArrayNode list = JSON.createArrayNode();
        for (AttentionPattern p : patterns) {
            ArrayNode pair = list.addArray();
            ArrayNode names = pair.addArray();
            p.pattern().forEach(t -> names.add(t.configName()));
            pair.add(p.repeat());
        }
        return list;
    }

    static String firstLine(String message) {
        if (message == null) return "unknown error";
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
