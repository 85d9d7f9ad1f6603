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
            "pipe_partition_method", "gradient_clipping_type", "create_moe_param_group", "moe_lbl_in_fp32");

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

    /**
     * Mixture-of-experts keys of both GPT-NeoX generations: DeepSpeed-MoE's ({@code num_experts},
     * {@code expert_interval}, {@code moe_train_capacity_factor}, ...) and the megablocks dMoE's
     * ({@code moe_num_experts}, {@code moe_expert_interval}, {@code moe_router_type}, ...).
     */
    private static final Set<String> MOE = Set.of("num_experts", "expert_interval", "moe_num_experts", "moe_expert_interval",
            "moe_top_k", "moe_loss_coeff", "moe_train_capacity_factor", "moe_eval_capacity_factor", "moe_min_capacity",
            "moe_token_dropping", "moe_use_residual", "moe_expert_parallel_size", "moe_router_type", "moe_jitter_eps");

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
            } else if (!SPECIAL.contains(key) && !MOE.contains(key)) {
                throw refused(key, "is not a GPT-NeoX key this library knows");
            }
        }
        optimizer();
        schedule();
        parallel();
        data();
        modelSpecials();
        mixtureOfExperts();
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
            if (zero.has("overlap_comm")) options.put("--overlap-reduction", zero.get("overlap_comm").asText());
            if (zero.size() > (zero.has("overlap_comm") ? 2 : 1)) {
                notes.add("zero_optimization's bucket and buffer settings: DeepSpeed tuning, no effect here");
            }
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

    /**
     * GPT-NeoX's mixture of experts as GPT-Neo's: E experts in every interval-th layer from layer 0
     * (NeoX places one where {@code layer_number % interval == 0}), top-k gating with capacity. What
     * GPT-Neo's mixture lacks is refused: DeepSpeed's residual MoE, megablocks' Sinkhorn router,
     * routing jitter, training without dropping tokens over capacity.
     */
    private void mixtureOfExperts() {
        if (root.has("num_experts") && root.has("moe_num_experts")) {
            throw refused("moe_num_experts", "and 'num_experts' are both given (megablocks' and DeepSpeed's expert counts): give one");
        }
        boolean deepSpeed = root.has("num_experts");
        String countKey = deepSpeed ? "num_experts" : "moe_num_experts", intervalKey = deepSpeed ? "expert_interval" : "moe_expert_interval";
        int experts = root.path(countKey).asInt(1);
        if (experts <= 1) {
            List<String> unused = MOE.stream().filter(root::has).sorted().toList();
            if (!unused.isEmpty()) notes.add(String.join(", ", unused) + ": no experts (" + countKey + " ≤ 1), no effect");
            return;
        }
        if (!root.has("num_layers")) throw refused(countKey, "needs num_layers in the same file (it places the experts' layers)");
        int interval = root.path(intervalKey).asInt(deepSpeed ? 2 : 1);   // each generation's default
        if (interval < 1) throw refused(intervalKey, "must be ≥ 1, got " + interval);
        ArrayNode layers = JsonNodeFactory.instance.arrayNode();
        for (int i = 0; i < root.get("num_layers").asInt(); i += interval) layers.add(i);
        model.put("moe-num-experts", experts);
        model.set("moe-layers", layers);
        int topK = root.path("moe_top_k").asInt(1);
        if (topK != 1 && topK != 2) throw refused("moe_top_k", "is " + topK + "; GPT-Neo's gating routes to 1 or 2 experts");
        model.put("moe-top-k", topK);
        if (topK == 2) model.put("moe-second-policy", "all");              // DeepSpeed dispatches every token's second expert
        if (root.has("moe_loss_coeff")) model.set("moe-aux-loss-coef", root.get("moe_loss_coeff"));
        if (root.has("moe_train_capacity_factor")) model.set("moe-capacity-factor", root.get("moe_train_capacity_factor"));
        if (root.has("moe_eval_capacity_factor")) model.set("moe-eval-capacity-factor", root.get("moe_eval_capacity_factor"));
        if (root.has("moe_min_capacity")) model.set("moe-min-capacity", root.get("moe_min_capacity"));
        if (deepSpeed && root.path("moe_use_residual").asBoolean(true)) {
            throw refused("moe_use_residual", "is true (DeepSpeed's default when absent); GPT-Neo's mixture has no residual "
                    + "dense MLP beside the experts: set it to false");
        }
        if (!deepSpeed && !root.path("moe_router_type").asText("sinkhorn").equals("topk")) {
            throw refused("moe_router_type", "is '" + root.path("moe_router_type").asText("sinkhorn")
                    + "' (GPT-NeoX's default when absent); GPT-Neo routes by top-k gating: set it to topk");
        }
        if (root.has("moe_jitter_eps") && !root.get("moe_jitter_eps").isNull()) {
            throw refused("moe_jitter_eps", "is " + root.get("moe_jitter_eps") + "; GPT-Neo's router adds no jitter");
        }
        if (!root.path("moe_token_dropping").asBoolean(true)) {
            throw refused("moe_token_dropping", "is false; GPT-Neo's experts drop the tokens over their capacity");
        }
        if (root.has("moe_expert_parallel_size") && root.get("moe_expert_parallel_size").asInt() > 1) {
            String parallel = options.get("--parallel");
            options.put("--parallel", (parallel == null ? "" : parallel + ",") + "ep=" + root.get("moe_expert_parallel_size").asInt());
        }
        notes.add(countKey + ": experts routed by GPT-Neo's top-" + topK + " gating (mesh-tf's: capacity per group of "
                + "tokens, load-balancing loss), not " + (deepSpeed ? "DeepSpeed-MoE's" : "megablocks'") + " router");
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
        return NO_EFFECT.contains(key) || MODEL_KEYS.containsKey(key) || OPTION_KEYS.containsKey(key) || SPECIAL.contains(key)
                || MOE.contains(key);
    }

    private static String snake(String key) {
        return key.replace('-', '_');
    }
}
