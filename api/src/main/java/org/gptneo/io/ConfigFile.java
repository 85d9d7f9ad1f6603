package org.gptneo.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoConfig;

/**
 * A model configuration file in any of the formats this library reads, told apart by its keys:
 *
 * <ul>
 *   <li>a Hugging Face {@code config.json} ({@link HfConfig}): snake_case keys such as
 *       {@code hidden_size}, {@code num_layers}, {@code attention_types}, {@code model_type};</li>
 *   <li>a model file ({@link ModelConfigFile}), JSON or YAML: the builder's kebab-case keys such as
 *       {@code hidden-size}, {@code layers}, {@code heads}, {@code attention};</li>
 *   <li>a mesh-tensorflow config ({@link MeshTfConfig}): {@code n_embd}, {@code n_layer}, ...</li>
 * </ul>
 *
 * A file holding keys of both the first two formats is refused (one of them would be ignored). A
 * file named {@code *.json} is parsed as strict JSON, anything else as YAML (which reads JSON too).
 */
public final class ConfigFile {
    /** The formats, with how an error message describes them. */
    public enum Format {
        HF_CONFIG("a Hugging Face config.json"),
        MODEL_FILE("a model file"),
        MESH_TF("a mesh-tf config");

        private final String description;

        Format(String description) {
            this.description = description;
        }

        public String description() {
            return description;
        }
    }

    /** Keys only a Hugging Face config.json has (every key HfConfig reads, plus what save_pretrained adds). */
    private static final Set<String> HF_KEYS = Stream.concat(ConfigKeys.HF.values().stream(), Stream.of(
            "num_hidden_layers", "num_attention_heads", "attention_layers", "model_type", "architectures", "torch_dtype",
            "transformers_version", "use_cache")).collect(Collectors.toUnmodifiableSet());

    private ConfigFile() {}

    /** The file's format (reads and parses it). */
    public static Format format(Path file) {
        JsonNode root = tree(file);
        try {
            return detect(root);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(file.getFileName() + ": " + e.getMessage(), e);
        }
    }

    /**
     * The validated configuration of a file in any format; errors name the file and the file's own
     * keys ({@code tiny.yaml: hidden-size (10) must be divisible by heads (3)},
     * {@code config.json: missing key 'hidden_size'}).
     */
    public static GptNeoConfig read(Path file) {
        return fromTree(tree(file), file.getFileName().toString());
    }

    /**
     * The validated configuration of an already parsed tree in any format (a model section inlined in
     * another file); errors are prefixed with {@code source}, which names where the tree came from.
     */
    public static GptNeoConfig fromTree(JsonNode root, String source) {
        try {
            return switch (detect(root)) {
                case HF_CONFIG -> HfConfig.fromJson(root);
                case MODEL_FILE -> ModelConfigFile.config(root);
                case MESH_TF -> MeshTfConfig.fromJson(root);
            };
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(source + ": " + e.getMessage(), e);
        }
    }

    /**
     * A builder filled from a file in any format. A model file's builder is not validated yet (the
     * caller may still change fields); a config.json or mesh-tf config is validated while read.
     */
    public static GptNeoBuilder builder(Path file) {
        JsonNode root = tree(file);
        try {
            return switch (detect(root)) {
                case HF_CONFIG -> HfConfig.fromJson(root).toBuilder();
                case MODEL_FILE -> ModelConfigFile.fromTree(root);
                case MESH_TF -> MeshTfConfig.fromJson(root).toBuilder();
            };
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(file.getFileName() + ": " + e.getMessage(), e);
        }
    }

    /** The format a parsed file is in; a map mixing config.json and model-file keys is an error. */
    static Format detect(JsonNode root) {
        if (root == null || !root.isObject()) {
            return Format.MODEL_FILE;       // whose reader says what a model file must be
        }
        if (MeshTfConfig.looksLike(root)) {
            return Format.MESH_TF;
        }
        String hfKey = null, modelFileKey = null;
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (hfKey == null && HF_KEYS.contains(key)) hfKey = key;
            if (modelFileKey == null && ModelConfigFile.isKey(key)) modelFileKey = key;
        }
        if (hfKey != null && modelFileKey != null) {
            throw new IllegalArgumentException("mixes Hugging Face config.json keys ('" + hfKey + "') and model-file keys ('"
                    + modelFileKey + "'); use one format");
        }
        return hfKey != null ? Format.HF_CONFIG : Format.MODEL_FILE;
    }

    static JsonNode tree(Path file) {
        boolean json = file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json");
        try {
            return json ? HfConfig.JSON.readTree(file.toFile()) : ModelConfigFile.YAML.readTree(file.toFile());
        } catch (IOException e) {
            throw new CheckpointException(file.getFileName() + ": not readable " + (json ? "JSON" : "JSON or YAML") + " ("
                    + HfConfig.firstLine(e.getMessage()) + ")", e);
        }
    }
}
