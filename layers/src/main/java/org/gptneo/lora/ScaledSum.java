package org.gptneo.lora;

import org.gptneo.autograd.Differentiable;
import org.gptneo.autograd.Tape;
import org.gptneo.tensor.Tensor;

/** out = a + s·b for a, b of one shape: the base output plus the scaled low-rank path. */
record ScaledSum(float s) implements Differentiable {

    @Override
    public Tensor forward(Tape tape, Tensor[] inputs) {
        Tensor a = inputs[0], b = inputs[1];
        if (!a.sameShape(b)) {
            throw new IllegalArgumentException("LoRA: base output " + a + " and low-rank output " + b + " differ in shape");
        }
        Tensor out = tape.allocate(a.shape());
        tape.backend().copy(a, out);
        tape.backend().axpy(s, b, out);
        return out;
    }

    @Override
    public void backward(Tape tape, Tensor[] inputs, Tensor output, Tensor outputGrad, Tensor[] inputGrads) {
        if (inputGrads[0] != null) tape.backend().axpy(1f, outputGrad, inputGrads[0]);
        if (inputGrads[1] != null) tape.backend().axpy(s, outputGrad, inputGrads[1]);
    }
}
