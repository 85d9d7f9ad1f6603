package org.gptneo.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The sections and keys of a run file ({@code gptneo train --run FILE}) and the train option each
 * key stands for: a run file is a set of option values, grouped the way a training setup reads.
 * Keys take {@code -} or {@code _}. The model section also takes a model file's keys inline
 * ({@code layers}, {@code hidden-size}, ...) instead of {@code path}, {@code preset} or {@code config};
 * the parallel section's dp, tp, pp and ep together make one {@code --parallel} value.
 */
final class RunKeys {
    /** section → key → option, in the order --print-config writes them. */
    static final Map<String, Map<String, String>> SECTIONS = sections();

    /** The parallel section's degrees, in --parallel's order. */
    static final List<String> DEGREES = List.of("dp", "tp", "pp", "ep");

    /** The model section's keys that name where the model comes from (the rest are inline model-file keys). */
    static final Map<String, String> MODEL_SOURCES = Map.of("path", "--model", "preset", "--preset", "config", "--config");

    private RunKeys() {}

    private static Map<String, Map<String, String>> sections() {
        Map<String, Map<String, String>> s = new LinkedHashMap<>();
        s.put("model", ordered("path", "--model", "preset", "--preset", "config", "--config"));
        s.put("data", ordered("path", "--data", "eval-path", "--eval-data", "seq-len", "--seq-len", "text-field", "--text-field",
                "validation-split", "--validation-split"));
        s.put("optimizer", ordered("lr", "--lr", "beta1", "--adam-beta1", "beta2", "--adam-beta2", "eps", "--adam-eps",
                "weight-decay", "--weight-decay", "grad-clip", "--grad-clip"));
        s.put("schedule", ordered("steps", "--steps", "warmup", "--warmup", "kind", "--schedule", "lr-floor", "--lr-floor"));
        s.put("training", ordered("batch-size", "--batch-size", "micro-batch-size", "--micro-batch-size",
                "accumulate", "--accumulate", "seed", "--seed", "activation-checkpointing", "--activation-checkpointing",
                "log-every", "--log-every", "eval-every", "--eval-every", "eval-batches", "--eval-batches"));
        s.put("checkpointing", ordered("out", "--out", "every", "--checkpoint-every", "keep", "--keep", "resume", "--resume"));
        s.put("parallel", ordered("zero", "--zero", "overlap-reduction", "--overlap-reduction"));
        s.put("lora", ordered("rank", "--lora-rank", "alpha", "--lora-alpha", "dropout", "--lora-dropout", "targets", "--lora-targets"));
        return s;
    }

    private static Map<String, String> ordered(String... keysAndOptions) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndOptions.length; i += 2) m.put(keysAndOptions[i], keysAndOptions[i + 1]);
        return m;
    }

    /** The option of {@code section.key} (key spelt with - or _), if it is one. */
    static Optional<String> option(String section, String key) {
        Map<String, String> keys = SECTIONS.get(section);
        return keys == null ? Optional.empty() : Optional.ofNullable(keys.get(normal(key)));
    }

    /** A key with its underscores turned into hyphens. */
    static String normal(String key) {
        return key.replace('_', '-');
    }
}
