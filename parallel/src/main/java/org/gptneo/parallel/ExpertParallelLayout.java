package org.gptneo.parallel;

import org.gptneo.model.GptNeoConfig;
import org.gptneo.nn.MoeSettings;

/**
 * Which experts of every mixture-of-experts layer each rank of an expert-parallel group holds: with
 * E experts and ep ranks, rank r holds the E/ep consecutive experts [r·E/ep, (r+1)·E/ep), the same
 * share in every layer (GShard's and DeepSpeed-MoE's placement); the gate and every other parameter
 * are replicated.
 *
 * @param experts E, the experts of each layer
 * @param ranks   ep, the ranks of the expert-parallel group
 * @param rank    this rank, in [0, ranks)
 */
public record ExpertParallelLayout(int experts, int ranks, int rank) {
    private static final String EXPERTS = ".mlp.experts.";

    public ExpertParallelLayout {
        if (ranks < 1 || rank < 0 || rank >= ranks) {
            throw new IllegalArgumentException("rank " + rank + " is not one of " + ranks + " expert-parallel ranks");
        }
        if (experts % ranks != 0) {
            throw new IllegalArgumentException("expert parallelism over " + ranks + " ranks needs the experts to split evenly, but "
                    + experts + " experts % " + ranks + " = " + experts % ranks);
        }
    }

    /** The layout of {@code config}'s experts over {@code ranks} ranks, or one line saying why it cannot be split. */
    public static ExpertParallelLayout of(GptNeoConfig config, int ranks, int rank) {
        MoeSettings moe = config.moe();
        if (moe.isEmpty()) {
            throw new IllegalArgumentException("expert parallelism splits mixture-of-experts layers, but the model has none"
                    + " (use data parallelism)");
        }
        return new ExpertParallelLayout(moe.experts(), ranks, rank);
    }

    /** E/ep: how many experts of each layer a rank holds. */
    public int held() {
        return experts / ranks;
    }

    /** The first expert this rank holds. */
    public int first() {
        return rank * held();
    }

    /** The rank that holds expert e. */
    public int owner(int expert) {
        return expert / held();
    }

    /** Whether parameter {@code name} is an expert's weight ({@code transformer.h.<i>.mlp.experts.<e>.*}), not replicated. */
    public static boolean isExpert(String name) {
        return name.contains(EXPERTS);
    }

    /** The expert that parameter {@code name} belongs to (see {@link #isExpert}). */
    public static int expertOf(String name) {
        int from = name.indexOf(EXPERTS) + EXPERTS.length();
        return Integer.parseInt(name.substring(from, name.indexOf('.', from)));
    }

    /** Parameter {@code name} of expert {@code expert} instead of its own (the same layer and tensor). */
    static String renamed(String name, int expert) {
        int from = name.indexOf(EXPERTS) + EXPERTS.length();
        return name.substring(0, from) + expert + name.substring(name.indexOf('.', from));
    }
}
