package org.gptneo.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A GPT-NeoX run file (its {@code configs/*.yml}): flat keys, spelt with {@code _} or {@code -}, read
 * as the {@code gptneo train} options they mean. Training and parallel keys become options
 * ({@code train_iters} → --steps, {@code pipe_parallel_size} → pp, ...); model keys become a model
 * file's keys where GPT-Neo has the feature ({@code num_layers} → layers, {@code pos_emb: rotary},
 * ...). A key that would change the model or the training in a way GPT-Neo cannot follow
 * ({@code gpt_j_residual: true}, {@code norm: rmsnorm}) is refused naming it; keys that only tune
 * GPT-NeoX's own machinery (kernel fusions, logging, DeepSpeed buffers) are read, have no effect, and
 * are listed once on stderr. An unknown key is refused: a misspelt setting must not pass silently.
 */
final class NeoxRunFile {
    /** Keys that only tune GPT-NeoX's own machinery: read, no effect here. */
    private static final Set<String> NO_EFFECT = Set.of("data_impl", "vocab_file", "merge_file", "distributed_backend",
            "wall_clock_breakdown", "steps_per_print", "fp16", "bf16", "precision", "partition_activations",
            "synchronize_each_layer", "checkpoint_num_layers", "scaled_upper_triang_masked_softmax_fusion",
            "scaled_masked_softmax_fusion", "bias_gelu_fusion", "bias_dropout_fusion", "init_method",
            "output_layer_init_method", "output_layer_parallelism", "make_vocab_size_divisible_by", "hostfile", "launcher",
            "include", "num_gpus", "num_nodes", "master_port", "use_wandb", "wandb_project", "wandb_group", "wandb_team",
            "wandb_host", "tensorboard_dir", "log_dir", "use_shared_fs", "zero_allow_untested_optimizer",
            "optimize_axonn_communication", "depth_model_parallel_size", "row_model_parallel_size",
            "column_model_parallel_size", "tokenizer_type", "log_grad_norm", "log_param_norm", "log_gradient_noise_scale",
            "pipe_partition_method", "gradient_clipping_type");

    /** Model keys with their model-file names, where the value carries over as it is. */
    private static final Map<String, String> MODEL_KEYS = Map.of("num_layers", "layers", "hidden_size", "hidden-size",
            "num_attention_heads", "heads", "max_position_embeddings", "context-length", "layernorm_epsilon", "layer-norm-epsilon",
            "attention_dropout", "attention-dropout", "init_method_std", "initializer-range", "intermediate_size",
            "intermediate-size");

    /** Training keys whose value carries over to an option as it is. */
    private static final Map<String, String> OPTION_KEYS = Map.ofEntries(Map.entry("train_iters", "--steps"),
            Map.entry("train_batch_size", "--batch-size"), Map.entry("train_micro_batch_size_per_gpu", "--micro-batch-size"),
            Map.entry("gradient_accumulation_steps", "--accumulate"), Map.entry("weight_decay", "--weight-decay"),
            Map.entry("gradient_clipping", "--grad-clip"), Map.entry("data_path", "--data"), Map.entry("seq_length", "--seq-len"),
            Map.entry("seed", "--seed"), Map.entry("save", "--out"), Map.entry("save_interval", "--checkpoint-every"),
            Map.entry("checkpoint_factor", "--checkpoint-every"), Map.entry("keep_last_n_checkpoints", "--keep"),
            Map.entry("eval_interval", "--eval-every"), Map.entry("eval_iters", "--eval-batches"),
            Map.entry("log_interval", "--log-every"), Map.entry("checkpoint_activations", "--activation-checkpointing"));

    /** Keys handled one by one below (a conversion, or a value that must be the one GPT-Neo has). */
    private static final Set<String> SPECIAL = Set.of("optimizer", "min_lr", "lr_decay_style", "lr_decay_iters", "warmup",
            "zero_optimization", "pipe_parallel_size", "model_parallel_size", "load", "split", "train_data_paths",
            "attention_config", "pos_emb", "rotary_pct", "norm", "hidden_dropout", "activation", "gpt_j_residual",
            "no_weight_tying", "num_kv_heads", "use_axonn_model_parallelism", "sequence_parallel");

    private final String name;
    private final JsonNode root;                                // keys normalised to snake_case
    private final Map<String, String> options = new LinkedHashMap<>();
    private final ObjectNode model = JsonNodeFactory.instance.objectNode();
    private final List<String> notes = new ArrayList<>();

    private NeoxRunFile(String name, JsonNode root) {
        this.name = name;
        this.root = root;
    }

    /**
     * True when a parsed file is GPT-NeoX's: some top-level key is not one of this library's sections
     * and is a GPT-NeoX key (both formats have an {@code optimizer}).
     */
    static boolean looksLike(JsonNode root) {
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!RunKeys.SECTIONS.containsKey(RunKeys.normal(key)) && known(snake(key))) return true;
        }
        return false;
    }

    static RunFile read(JsonNode raw, String name) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        for (Iterator<Map.Entry<String, JsonNode>> it = raw.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (root.has(snake(e.getKey()))) {
                throw new IllegalArgumentException(name + ": '" + e.getKey() + "' is given twice (as _ and as -)");
            }
            root.set(snake(e.getKey()), e.getValue());
        }
        NeoxRunFile file = new NeoxRunFile(name, root);
        file.convert();
        return new RunFile(name, file.options, file.model.isEmpty() ? null : file.model, List.copyOf(file.notes));
    }

    private void convert() {
        List<String> ignored = new ArrayList<>();
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            JsonNode value = root.get(key);
            if (NO_EFFECT.contains(key)) {
                ignored.add(key);
            } else if (MODEL_KEYS.containsKey(key)) {
                model.set(MODEL_KEYS.get(key), value);
            } else if (OPTION_KEYS.containsKey(key)) {
                options.put(OPTION_KEYS.get(key), RunFile.scalar(value, name, key));
            } else if (!SPECIAL.contains(key)) {
                throw refused(key, "is not a GPT-NeoX key this library knows");
            }
        }
        optimizer();
        schedule();
        parallel();
        data();
        modelSpecials();
        if (!ignored.isEmpty()) notes.add(String.join(", ", ignored) + ": GPT-NeoX machinery settings, no effect here");
    }

    private void optimizer() {
        JsonNode optimizer = root.get("optimizer");
        if (optimizer != null) {
            String type = optimizer.path("type").asText("");
            if (!type.equalsIgnoreCase("adam") && !type.equalsIgnoreCase("adamw")) {
                throw refused("optimizer.type", "is '" + type + "'; gptneo trains with AdamW (decoupled weight decay)");
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = optimizer.path("params").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> p = it.next();
                switch (p.getKey()) {
                    case "lr" -> options.put("--lr", p.getValue().asText());
                    case "eps" -> options.put("--adam-eps", p.getValue().asText());
                    case "betas" -> {
                        if (!p.getValue().isArray() || p.getValue().size() != 2) {
                            throw refused("optimizer.params.betas", "must be a list of two numbers");
                        }
                        options.put("--adam-beta1", p.getValue().get(0).asText());
                        options.put("--adam-beta2", p.getValue().get(1).asText());
                    }
                    default -> throw refused("optimizer.params." + p.getKey(), "has no gptneo equivalent");
                }
            }
        }
        if (root.has("min_lr")) {
            if (!options.containsKey("--lr")) throw refused("min_lr", "needs optimizer.params.lr in the same file");
            double floor = root.get("min_lr").asDouble() / Double.parseDouble(options.get("--lr"));
            options.put("--lr-floor", Double.toString(floor));
        }
    }

    private void schedule() {
        if (root.has("lr_decay_style")) {
            String style = root.get("lr_decay_style").asText().toLowerCase(Locale.ROOT);
            if (!Set.of("cosine", "linear", "constant").contains(style)) {
                throw refused("lr_decay_style", "is '" + style + "'; gptneo has cosine, linear and constant");
            }
            options.put("--schedule", style);
        }
        if (root.has("lr_decay_iters") && !root.get("lr_decay_iters").equals(root.get("train_iters"))) {
            throw refused("lr_decay_iters", "(" + root.get("lr_decay_iters") + ") differs from train_iters ("
                    + root.get("train_iters") + "); gptneo decays over the run's steps");
        }
        if (root.has("warmup")) {
            if (!root.has("train_iters")) throw refused("warmup", "is a fraction of train_iters, which this file lacks");
            long steps = Math.round(root.get("warmup").asDouble() * root.get("train_iters").asLong());
            options.put("--warmup", Long.toString(steps));
        }
    }

    private void parallel() {
        List<String> degrees = new ArrayList<>();
        if (root.has("model_parallel_size")) degrees.add("tp=" + Math.max(1, root.get("model_parallel_size").asInt()));
        if (root.has("pipe_parallel_size")) degrees.add("pp=" + Math.max(1, root.get("pipe_parallel_size").asInt()));
        if (!degrees.isEmpty()) options.put("--parallel", String.join(",", degrees));
        JsonNode zero = root.get("zero_optimization");
        if (zero != null) {
            options.put("--zero", zero.path("stage").asText("0"));
            if (zero.size() > 1) notes.add("zero_optimization's buffer and overlap settings: DeepSpeed tuning, no effect here");
        }
        if (root.path("use_axonn_model_parallelism").asBoolean(false)) {
            throw refused("use_axonn_model_parallelism", "is true; gptneo's tensor parallelism is Megatron's (model_parallel_size)");
        }
        if (root.path("sequence_parallel").asBoolean(false)) {
            throw refused("sequence_parallel", "is true; gptneo has no sequence parallelism");
        }
    }

    private void data() {
        JsonNode paths = root.get("train_data_paths");
        if (paths != null) {
            if (!paths.isArray() || paths.size() != 1) throw refused("train_data_paths", "must name one dataset here");
            options.put("--data", paths.get(0).asText());
        }
        if (root.has("load")) {
            if (!root.get("load").equals(root.get("save"))) {
                throw refused("load", "differs from save; gptneo resumes from its output folder (--out with --resume)");
            }
            options.put("--resume", "true");
        }
        if (root.has("split")) {
            String[] parts = root.get("split").asText().split(",");
            double total = 0;
            for (String part : parts) total += Double.parseDouble(part.trim());
            double validation = parts.length > 1 ? Double.parseDouble(parts[1].trim()) / total : 0;
            options.put("--validation-split", Double.toString(validation));
        }
    }

    private void modelSpecials() {
        if (root.has("attention_config")) model.set("attention", attention(root.get("attention_config")));
        if (root.has("pos_emb")) {
            switch (root.get("pos_emb").asText()) {
                case "learned" -> { }
                case "rotary" -> model.put("position-embedding", "rotary");
                default -> throw refused("pos_emb", "is '" + root.get("pos_emb").asText() + "'; GPT-Neo has learned or rotary");
            }
        }
        if (root.has("rotary_pct") && root.get("rotary_pct").asDouble() != 1.0) {
            throw refused("rotary_pct", "is " + root.get("rotary_pct") + "; GPT-Neo rotates whole heads (1.0)");
        }
        if (root.has("norm") && !root.get("norm").asText().equals("layernorm")) {
            throw refused("norm", "is '" + root.get("norm").asText() + "'; GPT-Neo uses layernorm");
        }
        if (root.has("hidden_dropout")) {
            model.set("resid-dropout", root.get("hidden_dropout"));
            model.set("embed-dropout", root.get("hidden_dropout"));
        }
        if (root.has("activation")) {
            if (!root.get("activation").asText().equals("gelu")) {
                throw refused("activation", "is '" + root.get("activation").asText() + "'; GPT-Neo uses gelu");
            }
            notes.add("activation gelu: trained with gelu_new, GPT-Neo's tanh form of GELU");
        }
        if (root.path("gpt_j_residual").asBoolean(false)) throw refused("gpt_j_residual", "is true; GPT-Neo's residual is sequential");
        if (root.path("no_weight_tying").asBoolean(false)) throw refused("no_weight_tying", "is true; GPT-Neo ties the LM head to wte");
        if (root.has("num_kv_heads") && !root.get("num_kv_heads").equals(root.get("num_attention_heads"))) {
            throw refused("num_kv_heads", "differs from num_attention_heads; GPT-Neo has no grouped-query attention");
        }
    }

    /** NeoX's attention_config, [[types], n] pairs, with "flash" (global attention computed another way) as global. */
    private ArrayNode attention(JsonNode config) {
        ArrayNode out = JsonNodeFactory.instance.arrayNode();
        for (JsonNode pair : config) {
            ArrayNode types = JsonNodeFactory.instance.arrayNode();
            for (JsonNode type : pair.path(0)) {
                String t = type.asText();
                switch (t) {
                    case "global", "flash" -> types.add("global");
                    case "local" -> types.add("local");
                    default -> throw refused("attention_config", "has '" + t + "'; GPT-Neo has global and local attention");
                }
            }
            out.add(JsonNodeFactory.instance.arrayNode().add(types).add(pair.path(1)));
        }
        return out;
    }

    private IllegalArgumentException refused(String key, String why) {
        return new IllegalArgumentException(name + ": GPT-NeoX key '" + key + "' " + why);
    }

    private static boolean known(String key) {
        return NO_EFFECT.contains(key) || MODEL_KEYS.containsKey(key) || OPTION_KEYS.containsKey(key) || SPECIAL.contains(key);
    }

    private static String snake(String key) {
        return key.replace('-', '_');
    }
}
