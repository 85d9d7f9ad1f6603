package org.gptneo.parallel;

import org.gptneo.autograd.Differentiable;
import org.gptneo.autograd.Tape;
import org.gptneo.tensor.Tensor;

/** out [N, C] = x [N, C] + bias [C] on every row: a row-parallel layer's bias, added once after the sum. */
final class BiasAdd implements Differentiable {
    static final BiasAdd INSTANCE = new BiasAdd();

    private BiasAdd() {
    }

    @Override
    public Tensor forward(Tape tape, Tensor[] inputs) {
        Tensor out = tape.allocate(inputs[0].shape());
        tape.backend().copy(inputs[0], out);
        tape.backend().addBias(out, inputs[1]);
        return out;
    }

    @Override
    public void backward(Tape tape, Tensor[] inputs, Tensor output, Tensor outputGrad, Tensor[] inputGrads) {
        if (inputGrads[0] != null) tape.backend().axpy(1f, outputGrad, inputGrads[0]);
        if (inputGrads[1] != null) tape.backend().addBiasBackward(outputGrad, inputGrads[1]);
    }
}
