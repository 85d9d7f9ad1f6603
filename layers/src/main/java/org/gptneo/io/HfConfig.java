package org.gptneo.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.gptneo.model.AttentionPattern;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoConfig;

/**
 * Hugging Face {@code config.json} for GPT-Neo ({@code model_type "gpt_neo"}): missing keys take the
 * GPTNeoConfig defaults, {@code num_hidden_layers}/{@code num_attention_heads} are accepted as
 * aliases, keys without architectural meaning are ignored.
 */
public final class HfConfig {
    static final ObjectMapper JSON = new ObjectMapper();

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
        json.integer("hidden_size").ifPresent(b::hiddenSize);
        json.integer("num_layers", "num_hidden_layers").ifPresent(b::layers);
        json.integer("num_heads", "num_attention_heads").ifPresent(b::heads);
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
        if (root.hasNonNull("attention_types")) {
            b.attentionTypes(parseAttentionTypes(root.get("attention_types")));
        } else {
            // HF's default [[["global","local"],12]] for 24 layers; GptNeoBuilder's default pattern is the same
            b.attention(AttentionType.GLOBAL, AttentionType.LOCAL);
        }
        return b.config();
    }

    /** Parses the compressed form [[["global","local"],12], ...]. */
    public static List<AttentionPattern> parseAttentionTypes(JsonNode node) {
        if (!node.isArray() || node.isEmpty()) {
            throw new IllegalArgumentException("attention_types must be a non-empty list of [pattern, count] pairs");
        }
        List<AttentionPattern> patterns = new ArrayList<>();
        for (JsonNode pair : node) {
            if (!pair.isArray() || pair.size() != 2 || !pair.get(0).isArray() || !pair.get(1).canConvertToExactIntegral()) {
                throw new IllegalArgumentException("attention_types entry " + pair + " is not a [pattern, count] pair");
            }
            List<AttentionType> pattern = new ArrayList<>();
            for (JsonNode name : pair.get(0)) {
                pattern.add(AttentionType.fromConfigName(name.asText()));
            }
            patterns.add(new AttentionPattern(pattern, pair.get(1).asInt()));
        }
        return patterns;
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
