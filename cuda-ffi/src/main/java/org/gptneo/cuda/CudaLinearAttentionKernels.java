package org.gptneo.cuda;

import org.gptneo.backend.AdamWStep;
import org.gptneo.backend.AttentionMask;
import org.gptneo.cuda.runtime.GemmCall;
import org.gptneo.tensor.Tensor;

/** The CUDA backend's causal linear attention forward and backward (see {@link org.gptneo.backend.Backend} for each contract). */
final class CudaLinearAttentionKernels {
    private CudaLinearAttentionKernels() {{}}

    static void linearAttentionCausal(CudaDevice gpu, Tensor q, Tensor k, Tensor v, float eps, Tensor state, Tensor normaliser, Tensor out) {
        throw new UnsupportedOperationException("cuda: linearAttentionCausal is not written yet");
    }

    static void linearAttentionCausalBackward(CudaDevice gpu, Tensor q, Tensor k, Tensor v, float eps, Tensor out, Tensor dOut, Tensor dq, Tensor dk, Tensor dv) {
        throw new UnsupportedOperationException("cuda: linearAttentionCausalBackward is not written yet");
    }

}
