package org.gptneo.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalInt;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoConfig;

/**
 * The original EleutherAI mesh-tensorflow GPT-Neo JSON configs ({@code configs/*.json} of
 * EleutherAI/gpt-neo) read into a {@link GptNeoConfig} (spec section 12).
 *
 * <table>
 *   <caption>Mapping</caption>
 *   <tr><th>mesh-tf key</th><th>GPT-Neo (HF) setting</th></tr>
 *   <tr><td>n_embd</td><td>hidden_size (required)</td></tr>
 *   <tr><td>n_layer</td><td>num_layers (required)</td></tr>
 *   <tr><td>n_head (README: n_heads)</td><td>num_heads (required)</td></tr>
 *   <tr><td>n_ctx</td><td>max_position_embeddings (required)</td></tr>
 *   <tr><td>n_vocab</td><td>vocab_size (required), kept as is: see below</td></tr>
 *   <tr><td>attention_types</td><td>attention_types (required; "global", "local", "linear", "none")</td></tr>
 *   <tr><td>local_attention_radius</td><td>window_size (default 256)</td></tr>
 *   <tr><td>activation_fn, else activation_function</td><td>must be "gelu" (mtf's tanh GELU = gelu_new; the
 *       default when absent)</td></tr>
 *   <tr><td>res_dropout / embed_dropout / attn_dropout</td><td>resid_dropout / embed_dropout / attention_dropout</td></tr>
 *   <tr><td>eos_id (dataset key, often copied into the model config)</td><td>bos_token_id and eos_token_id
 *       (default: min(50256, vocab − 1))</td></tr>
 * </table>
 *
 * <p><b>n_vocab</b>: several configs pad the embedding to 50304 rows for TPU efficiency. Converting
 * weights trims the padded rows to the tokenizer's vocabulary (50257 for GPT-2 BPE), but a config
 * alone cannot know that size, so vocab_size stays n_vocab (e.g. 50304): a model built from it has
 * 47 extra, never-produced-by-the-tokenizer rows, harmless for training from scratch. Set the
 * builder's vocabSize(50257) afterwards to match Hugging Face's released checkpoints.
 *
 * <p>Training-only keys (lr, mesh_shape, layout, datasets, train_steps, precision, scale_by_depth,
 * z_loss, ... and any unknown key) are ignored. The variants (mixture of experts, axial and rotary
 * positions, masked LM) map to their config.json keys as {@link MeshTfVariants} describes. Keys for
 * features GPT-Neo does not have are refused when switched on (true, non-zero, non-empty), naming
 * the key: mlp_glu, scalenorm, rezero, num_mem_kv, macaron, share_parameters, no_weight_tie.
 */
public final class MeshTfConfig {
    /** Keys with no GPT-Neo (HF) equivalent → what they switch on. */
    static final Map<String, String> UNSUPPORTED = Map.ofEntries(
            Map.entry("mlp_glu", "a gated (GLU) MLP"),
            Map.entry("scalenorm", "ScaleNorm instead of LayerNorm"),
            Map.entry("rezero", "ReZero residuals without LayerNorm"),
            Map.entry("num_mem_kv", "learned memory key/values"),
            Map.entry("macaron", "macaron (half-step MLP) blocks"),
            Map.entry("share_parameters", "parameters shared across layers"),
            Map.entry("no_weight_tie", "an untied output layer"));

    private MeshTfConfig() {}

    /**
     * Reads a mesh-tf config JSON file.
     *
     * @throws CheckpointException naming the file and the key that is missing, malformed or has no
     *     GPT-Neo equivalent
     */
    public static GptNeoConfig read(Path file) {
        JsonNode root;
        try {
            root = HfConfig.JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new CheckpointException(file.getFileName() + ": not readable JSON (" + HfConfig.firstLine(e.getMessage()) + ")", e);
        }
        try {
            return fromJson(root);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(file.getFileName() + ": " + e.getMessage(), e);
        }
    }

    /** True when {@code root} looks like a mesh-tf config (it has n_embd or n_layer). */
    public static boolean looksLike(JsonNode root) {
        return root != null && root.isObject() && (root.has("n_embd") || root.has("n_layer"));
    }

    /** Builds the configuration from a parsed mesh-tf config (IllegalArgumentException naming the key). */
    public static GptNeoConfig fromJson(JsonNode root) {
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("a mesh-tf config must be a JSON object");
        }
        for (Map.Entry<String, String> e : UNSUPPORTED.entrySet()) {
            if (switchedOn(root.get(e.getKey()))) {
                throw new IllegalArgumentException(e.getKey() + " (" + e.getValue() + ") has no GPT-Neo equivalent");
            }
        }
        Json json = new Json(root);
        GptNeoBuilder b = GptNeoBuilder.create();
        b.hiddenSize(required(json, "n_embd"));
        int layers = required(json, "n_layer");
        if (layers > HfConfig.MAX_LAYERS) {
            throw new IllegalArgumentException("n_layer " + layers + " is more than " + HfConfig.MAX_LAYERS);
        }
        b.layers(layers);
        OptionalInt heads = json.integer("n_head", "n_heads");
        if (heads.isEmpty()) throw new IllegalArgumentException("n_head is missing");
        b.heads(heads.getAsInt());
        b.contextLength(required(json, "n_ctx"));
        int vocab = required(json, "n_vocab");
        b.vocabSize(vocab);
        JsonNode types = root.get("attention_types");
        if (types == null || types.isNull()) {
            throw new IllegalArgumentException("attention_types is missing");
        }
        try {
            b.attentionTypes(HfConfig.parseAttentionTypes(types));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage().startsWith("attention_types") ? e.getMessage()
                    : "attention_types: " + e.getMessage(), e);
        }
        json.integer("local_attention_radius").ifPresent(b::windowSize);
        String activationKey = root.hasNonNull("activation_fn") ? "activation_fn" : "activation_function";
        json.text(activationKey).ifPresent(a -> {
            if (!a.equals("gelu") && !a.equals("gelu_new")) {
                throw new IllegalArgumentException(activationKey + " '" + a + "' has no Hugging Face GPT-Neo equivalent"
                        + " (only gelu, mesh-tf's tanh approximation = gelu_new)");
            }
        });
        json.number("res_dropout").ifPresent(b::residDropout);
        json.number("embed_dropout").ifPresent(b::embedDropout);
        json.number("attn_dropout").ifPresent(b::attentionDropout);
        OptionalInt eos = json.integer("eos_id");
        if (eos.isPresent() && eos.getAsInt() >= 0 && eos.getAsInt() < vocab) {
            b.bosTokenId(eos.getAsInt()).eosTokenId(eos.getAsInt());
        }
        MeshTfVariants.read(root, b);
        return b.config();
    }

    private static int required(Json json, String key) {
        OptionalInt v = json.integer(key);
        if (v.isEmpty()) throw new IllegalArgumentException(key + " is missing");
        return v.getAsInt();
    }

    /** true, a non-zero number, a non-empty string, list or object. */
    private static boolean switchedOn(JsonNode v) {
        if (v == null || v.isNull()) return false;
        if (v.isBoolean()) return v.booleanValue();
        if (v.isNumber()) return v.doubleValue() != 0;
        if (v.isTextual()) return !v.textValue().isEmpty() && !v.textValue().equalsIgnoreCase("false");
        return !v.isEmpty();
    }
}
