package org.gptneo.autograd;

import org.gptneo.tensor.Tensor;

/**
 * An operation defined outside {@link Tape}, run with {@link Tape#apply}: a new layer brings its
 * own forward and backward without editing the tape. Both compute with {@code tape.backend()} and
 * allocate scratch with {@code tape.allocate}, so they work on any device.
 */
public interface Differentiable {

    /** The output for the inputs' values; allocate it with {@code tape.allocate}. */
    Tensor forward(Tape tape, Tensor[] inputs);

    /**
     * Adds d(loss)/d(input i) into {@code inputGrads[i]} given d(loss)/d(output); an entry is null
     * where that input needs no gradient. The convention of every backward kernel: add, don't overwrite.
     */
    void backward(Tape tape, Tensor[] inputs, Tensor output, Tensor outputGrad, Tensor[] inputGrads);
}
