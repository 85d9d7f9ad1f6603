package org.gptneo.lora;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import org.gptneo.model.GptNeoModel;

/**
 * A LoRA configuration as PEFT's {@code LoraConfig} for GPT-Neo defines it, immutable and fluent:
 * {@code LoRA.rank(8).alpha(16).dropout(0.05f).targets("q_proj", "v_proj").apply(model)}.
 *
 * <p>Each targeted projection y = W·x (+ bias) of every block becomes
 * y = W·x (+ bias) + (alpha / rank) · B·A·dropout(x), with A [rank, in] and B [out, rank];
 * dropout only in training passes. Defaults as PEFT's: alpha = rank (PEFT's {@code lora_alpha=8}
 * with {@code r=8}), dropout 0, targets {@code q_proj} and {@code v_proj} (PEFT's GPT-Neo
 * default), seed 0 for A's initialisation.
 *
 * @see LoraAdapter
 */
public final class LoRA {
    /** The module names a target may be, in the order a block holds them (PEFT matches these as name suffixes). */
    public static final List<String> KNOWN_TARGETS = List.of("q_proj", "k_proj", "v_proj", "out_proj", "c_fc", "c_proj");

    private final int rank;
    private final float alpha;
    private final float dropout;
    private final List<String> targets;
    private final long seed;

    private LoRA(int rank, float alpha, float dropout, List<String> targets, long seed) {
        if (rank < 1) {
            throw new IllegalArgumentException("LoRA rank must be at least 1, got " + rank);
        }
        if (!Float.isFinite(alpha) || alpha <= 0) {
            throw new IllegalArgumentException("LoRA alpha must be a positive finite number, got " + alpha);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("LoRA dropout must lie in [0, 1), got " + dropout);
        }
        this.rank = rank;
        this.alpha = alpha;
        this.dropout = dropout;
        this.targets = targets;
        this.seed = seed;
    }

    /** A configuration of this rank with every other setting at its default. */
    public static LoRA rank(int rank) {
        return new LoRA(rank, rank, 0f, List.of("q_proj", "v_proj"), 0L);
    }

    /** The same configuration with another alpha (scaling = alpha / rank). */
    public LoRA alpha(float alpha) {
        return new LoRA(rank, alpha, dropout, targets, seed);
    }

    /** The same configuration with dropout probability p on the adapter's input (training passes only). */
    public LoRA dropout(float p) {
        return new LoRA(rank, alpha, p, targets, seed);
    }

    /**
     * The same configuration adapting these modules of every block (see {@link #KNOWN_TARGETS});
     * duplicates are dropped, order is kept.
     *
     * @throws IllegalArgumentException for no name or an unknown one (the message lists the known ones)
     */
    public LoRA targets(String... moduleNames) {
        Objects.requireNonNull(moduleNames, "moduleNames");
        if (moduleNames.length == 0) {
            throw new IllegalArgumentException("LoRA needs at least one target module, one of " + KNOWN_TARGETS);
        }
        LinkedHashSet<String> names = new LinkedHashSet<>();
        for (String name : moduleNames) {
            if (!KNOWN_TARGETS.contains(name)) {
                throw new IllegalArgumentException("unknown LoRA target module '" + name + "'; GPT-Neo's are " + KNOWN_TARGETS);
            }
            names.add(name);
        }
        return new LoRA(rank, alpha, dropout, List.copyOf(names), seed);
    }

    /** The same configuration with another seed for A's initialisation. */
    public LoRA seed(long seed) {
        return new LoRA(rank, alpha, dropout, targets, seed);
    }

    public int rank() {
        return rank;
    }

    public float alpha() {
        return alpha;
    }

    public float dropout() {
        return dropout;
    }

    /** The targeted module names, as given. */
    public List<String> targets() {
        return targets;
    }

    public long seed() {
        return seed;
    }

    /** alpha / rank: the factor of the low-rank path. */
    public float scaling() {
        return alpha / rank;
    }

    /**
     * Wraps the targeted projections of every block of {@code model} and freezes every base
     * parameter; A ~ U(−1/√in, 1/√in) (PEFT's kaiming_uniform with a = √5), B = 0, so the model
     * computes exactly what it did until B trains. See {@link LoraAdapter} for lifetime and merging.
     *
     * @throws IllegalStateException if the model already carries a LoRA adapter
     */
    public LoraAdapter apply(GptNeoModel model) {
        return LoraAdapter.attach(this, model);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LoRA l && rank == l.rank && Float.compare(alpha, l.alpha) == 0
                && Float.compare(dropout, l.dropout) == 0 && targets.equals(l.targets) && seed == l.seed;
    }

    @Override
    public int hashCode() {
        return Objects.hash(rank, alpha, dropout, targets, seed);
    }

    @Override
    public String toString() {
        return "LoRA[rank=" + rank + ", alpha=" + alpha + ", dropout=" + dropout + ", targets=" + targets + ", seed=" + seed + "]";
    }
}
