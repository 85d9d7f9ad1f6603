package org.gptneo.parallel;

import org.gptneo.autograd.Differentiable;
import org.gptneo.autograd.Tape;
import org.gptneo.tensor.Tensor;

/**
 * Megatron's g, after the row-parallel layers (and the vocabulary-parallel embedding): forward the
 * sum of the ranks' partial outputs, backward the identity (every rank needs the whole gradient).
 */
record ReduceFromTensorParallel(Collectives tp) implements Differentiable {

    @Override
    public Tensor forward(Tape tape, Tensor[] inputs) {
        Tensor out = tape.allocate(inputs[0].shape());
        tape.backend().copy(inputs[0], out);
        tp.allReduce(out, ReduceOp.SUM);
        return out;
    }

    @Override
    public void backward(Tape tape, Tensor[] inputs, Tensor output, Tensor outputGrad, Tensor[] inputGrads) {
        if (inputGrads[0] != null) tape.backend().axpy(1f, outputGrad, inputGrads[0]);
    }
}
