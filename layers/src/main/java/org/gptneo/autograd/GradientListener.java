package org.gptneo.autograd;

import java.util.List;

/**
 * Told by {@link Tape#backward(Var, GradientListener)} when each parameter's gradient is complete, so
 * that work on it (a data-parallel all-reduce) can start while the backward pass goes on.
 *
 * <p>A parameter is complete once the backward pass has run the step of the first operation that read
 * it in the forward pass (steps replay in reverse): no later step adds to its gradient. A parameter
 * read only inside an activation-checkpointed segment completes with that segment's recomputation.
 * Both methods run on the thread that called {@code backward}.
 */
public interface GradientListener {

    /**
     * Before the first backward step: the trainable parameters this pass will add to, in the order
     * they will complete. Parameters not listed keep the gradient they had (or none).
     */
    void starting(List<Var> parameters);

    /** After the last backward step that adds to {@code parameter}'s gradient; once per listed parameter. */
    void completed(Var parameter);
}
