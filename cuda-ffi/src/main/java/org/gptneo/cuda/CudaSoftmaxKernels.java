package org.gptneo.cuda;

import org.gptneo.backend.AdamWStep;
import org.gptneo.backend.AttentionMask;
import org.gptneo.cuda.runtime.GemmCall;
import org.gptneo.tensor.Tensor;

/** The CUDA backend's masked softmax and its backward (see {@link org.gptneo.backend.Backend} for each contract). */
final class CudaSoftmaxKernels {
    private CudaSoftmaxKernels() {{}}

    static void maskedSoftmax(CudaDevice gpu, Tensor scores, AttentionMask mask, Tensor probs) {
        throw new UnsupportedOperationException("cuda: maskedSoftmax is not written yet");
    }

    static void softmaxBackward(CudaDevice gpu, Tensor probs, Tensor dProbs, Tensor dScores) {
        throw new UnsupportedOperationException("cuda: softmaxBackward is not written yet");
    }

}
