package org.gptneo.nn;

import org.gptneo.autograd.Differentiable;
import org.gptneo.autograd.Tape;
import org.gptneo.tensor.Tensor;

/**
 * The mixing step of causal linear attention as a tape op on feature-mapped inputs q̂, k̃ and v,
 * all [B, H, T, hs]: out[n] = (q̂[n]·Σ_{m≤n} k̃[m]ᵀ·v[m]) / (q̂[n]·(Σ_{m≤n} k̃[m] + ε)). Both directions
 * stream over the tokens in the backend ({@link org.gptneo.backend.Backend#linearAttentionCausal}), so
 * the tape holds the inputs, the output and their gradients only: memory linear in T.
 */
final class CausalLinearAttention implements Differentiable {
    private final float eps;

    CausalLinearAttention(float eps) {
        this.eps = eps;
    }

    @Override
    public Tensor forward(Tape tape, Tensor[] inputs) {
        Tensor out = tape.allocate(inputs[2].shape());                    // [B, H, T, hs]
        tape.backend().linearAttentionCausal(inputs[0], inputs[1], inputs[2], eps, null, null, out);
        return out;
    }

    @Override
    public void backward(Tape tape, Tensor[] inputs, Tensor output, Tensor outputGrad, Tensor[] inputGrads) {
        Tensor[] grads = new Tensor[3];
        for (int i = 0; i < 3; i++) {
            grads[i] = inputGrads[i] != null ? inputGrads[i] : tape.allocate(inputs[i].shape());   // scratch where none is wanted
        }
        tape.backend().linearAttentionCausalBackward(inputs[0], inputs[1], inputs[2], eps, output, outputGrad,
                grads[0], grads[1], grads[2]);
    }
}
