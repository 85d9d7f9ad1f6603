package org.gptneo.nn;

import org.gptneo.autograd.Differentiable;
import org.gptneo.autograd.Tape;
import org.gptneo.tensor.Tensor;

/**
 * The identity on its first input that also gives the other inputs (parameters a pass did not use,
 * such as experts no token reached) a zero gradient: every expert then has a gradient each step, as
 * under a dense dispatch, so the optimizer decays and updates them alike whether or not they were routed to.
 */
final class UnusedParameters implements Differentiable {

    @Override
    public Tensor forward(Tape tape, Tensor[] inputs) {
        Tensor out = tape.allocate(inputs[0].shape());
        tape.backend().copy(inputs[0], out);
        return out;
    }

    @Override
    public void backward(Tape tape, Tensor[] inputs, Tensor output, Tensor outputGrad, Tensor[] inputGrads) {
        if (inputGrads[0] != null) {
            tape.backend().axpy(1f, outputGrad, inputGrads[0]);
        }
        // inputGrads[1..] are allocated (zeroed) by the tape before this call: nothing to add
    }
}
