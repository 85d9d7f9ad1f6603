package org.gptneo.parallel;

import org.gptneo.autograd.Differentiable;
import org.gptneo.autograd.Tape;
import org.gptneo.tensor.Tensor;

/**
 * Megatron's f, before the column-parallel layers: forward the identity, backward the sum of the
 * ranks' gradients (each rank's layer saw only its slice of the output features, so each holds a
 * part of d(loss)/d(input)). The all-reduce runs in place on the output's gradient, which nothing
 * reads after this step.
 */
record CopyToTensorParallel(Collectives tp) implements Differentiable {

    @Override
    public Tensor forward(Tape tape, Tensor[] inputs) {
        Tensor out = tape.allocate(inputs[0].shape());
        tape.backend().copy(inputs[0], out);
        return out;
    }

    @Override
    public void backward(Tape tape, Tensor[] inputs, Tensor output, Tensor outputGrad, Tensor[] inputGrads) {
        if (inputGrads[0] == null) return;
        tp.allReduce(outputGrad, ReduceOp.SUM);
        tape.backend().axpy(1f, outputGrad, inputGrads[0]);
    }
}
