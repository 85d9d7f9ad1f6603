package org.gptneo.nn;

import org.gptneo.autograd.Var;

/**
 * The position-wise half of a block: [N, C] → [N, C], before the residual. GPT-Neo's is {@link Mlp};
 * a mixture of experts or a user's own layer is another implementation, plugged in through
 * {@link Factory} (see {@code GptNeoBuilder.feedForward}).
 */
public interface FeedForward extends Module {

    Var forward(Pass pass, Var x);

    /** Replaces its projections (adapters, tensor-parallel splits); a layer without any ignores it. */
    default void rewriteProjections(ProjectionRewriter rewriter) {}

    /**
     * What a feed-forward layer is made from: the layer index, its name prefix
     * ({@code transformer.h.<i>.mlp.}), the model's widths, and where its parameters come from.
     */
    record Spec(int layer, String prefix, int hiddenSize, int intermediateSize, float residDropout,
                ParameterSource source) {

        /** GPT-Neo's own MLP for this layer. */
        public Mlp standard() {
            return new Mlp(this);
        }
    }

    /** Makes the feed-forward layer of each block. */
    @FunctionalInterface
    interface Factory {
        FeedForward create(Spec spec);

        /** GPT-Neo's MLP in every layer. */
        Factory STANDARD = Spec::standard;
    }
}
