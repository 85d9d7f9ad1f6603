package org.gptneo.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.Set;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.InvalidConfigException;

/**
 * The builder's settings as a model file in JSON or YAML, in the spirit of GPT-NeoX's configuration
 * files: one kebab-case key per builder method, for example
 *
 * <pre>
 * vocab-size: 50257
 * context-length: 2048
 * hidden-size: 768
 * layers: 12
 * heads: 12
 * attention: [[[global, local], 6]]
 * window-size: 256
 * </pre>
 *
 * and the variants' keys, config.json's with '-' for '_' ({@code position-embedding: rotary},
 * {@code moe-layers: [1, 3]}, {@code objective: masked_lm}, ...: see {@link VariantKeys}).
 *
 * Missing keys take the builder's defaults; an unknown key is an error (a typo must not be ignored).
 * Written as YAML unless the file name ends in {@code .json}.
 */
public final class ModelConfigFile {
    private static final Set<String> KEYS = keys();
    static final ObjectMapper YAML = new YAMLMapper();

    private ModelConfigFile() {}

    private static Set<String> keys() {
        Set<String> keys = new java.util.HashSet<>(Set.of("vocab-size", "context-length", "hidden-size", "layers", "heads",
                "attention", "window-size", "intermediate-size", "activation", "embed-dropout", "attention-dropout",
                "resid-dropout", "layer-norm-epsilon", "initializer-range", "seed", "bos-token-id", "eos-token-id"));
        keys.addAll(VariantKeys.MODEL_FILE.keys());
        return Set.copyOf(keys);
    }

    /** A builder filled from the file, so callers may still change fields before building. */
    public static GptNeoBuilder read(Path file) {
        JsonNode root;
        try {
            root = YAML.readTree(file.toFile()); // YAML 1.2 reads JSON too
        } catch (IOException e) {
            throw new CheckpointException(file.getFileName() + ": not readable JSON or YAML ("
                    + HfConfig.firstLine(e.getMessage()) + ")", e);
        }
        try {
            return fromTree(root);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(file.getFileName() + ": " + e.getMessage(), e);
        }
    }

    /** The validated configuration of a parsed model file; rule violations name the file's keys (heads, hidden-size). */
    static GptNeoConfig config(JsonNode root) {
        GptNeoBuilder b = fromTree(root);
        try {
            return b.config();
        } catch (InvalidConfigException e) {
            throw ConfigKeys.renamed(e, ConfigKeys.MODEL_FILE);
        }
    }

    /** True when {@code key} is one of a model file's keys. */
    static boolean isKey(String key) {
        return KEYS.contains(key);
    }

    static GptNeoBuilder fromTree(JsonNode root) {
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("a model file must be a map of settings");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException("unknown key '" + key + "' (known: " + String.join(", ", KEYS.stream().sorted().toList()) + ")");
            }
        }
        Json json = new Json(root);
        GptNeoBuilder b = GptNeoBuilder.create();
        json.integer("vocab-size").ifPresent(b::vocabSize);
        json.integer("context-length").ifPresent(b::contextLength);
        json.integer("hidden-size").ifPresent(b::hiddenSize);
        json.integer("layers").ifPresent(b::layers);
        json.integer("heads").ifPresent(b::heads);
        json.integer("window-size").ifPresent(b::windowSize);
        json.integer("intermediate-size").ifPresent(b::intermediateSize);
        json.text("activation").ifPresent(b::activation);
        json.number("embed-dropout").ifPresent(b::embedDropout);
        json.number("attention-dropout").ifPresent(b::attentionDropout);
        json.number("resid-dropout").ifPresent(b::residDropout);
        json.number("layer-norm-epsilon").ifPresent(b::layerNormEpsilon);
        json.number("initializer-range").ifPresent(b::initializerRange);
        json.integer("bos-token-id").ifPresent(b::bosTokenId);
        json.integer("eos-token-id").ifPresent(b::eosTokenId);
        if (root.hasNonNull("seed")) {
            if (!root.get("seed").canConvertToExactIntegral()) {
                throw new IllegalArgumentException("seed must be an integer, got " + root.get("seed"));
            }
            b.seed(root.get("seed").asLong());
        }
        if (root.hasNonNull("attention")) {
            b.attentionTypes(HfConfig.parseAttentionTypes(root.get("attention")));
        }
        VariantKeys.MODEL_FILE.read(root, b);
        return b;
    }

    /** Writes every setting of {@code config} (YAML, or JSON for a {@code .json} name), atomically. */
    public static void write(GptNeoConfig config, Path file) {
        ObjectNode root = toTree(config);
        boolean json = file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json");
        try {
            String text = json ? HfConfig.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n"
                    : YAML.writeValueAsString(root);
            HfCheckpoint.writeAtomically(file, text);
        } catch (IOException e) {
            throw new CheckpointException(file.getFileName() + ": cannot write: " + e.getMessage(), e);
        }
    }

    /** Every setting of {@code c} as a model file's tree (the builder's kebab-case keys). */
    public static ObjectNode toTree(GptNeoConfig c) {
        ObjectNode root = HfConfig.JSON.createObjectNode();
        root.put("vocab-size", c.vocabSize());
        root.put("context-length", c.contextLength());
        root.put("hidden-size", c.hiddenSize());
        root.put("layers", c.layers());
        root.put("heads", c.heads());
        root.set("attention", HfConfig.attentionTypesJson(c.attentionTypes()));
        root.put("window-size", c.windowSize());
        if (c.intermediateSize() != null) {
            root.put("intermediate-size", c.intermediateSize());
        }
        root.put("activation", c.activation().configName());
        root.put("embed-dropout", c.embedDropout());
        root.put("attention-dropout", c.attentionDropout());
        root.put("resid-dropout", c.residDropout());
        root.put("layer-norm-epsilon", c.layerNormEpsilon());
        root.put("initializer-range", c.initializerRange());
        root.put("seed", c.seed());
        root.put("bos-token-id", c.bosTokenId());
        root.put("eos-token-id", c.eosTokenId());
        VariantKeys.MODEL_FILE.write(c, root);
        return root;
    }
}
