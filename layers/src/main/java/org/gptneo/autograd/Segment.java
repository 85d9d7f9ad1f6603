package org.gptneo.autograd;

/**
 * A part of a computation that {@link Tape#checkpoint} runs twice: once in the forward pass without
 * keeping its intermediates, once more in the backward pass to get them back. It must compute only
 * with the tape it is given (its ops, {@code tape.allocate}), reach its parameters through its own
 * fields (their gradients then accumulate as usual), and compute the same values every time it runs
 * on the same input: dropout seeds fixed, no state that changes between runs.
 */
@FunctionalInterface
public interface Segment {

    /** The segment's output for {@code input}, computed on {@code tape}. */
    Var run(Tape tape, Var input);
}
