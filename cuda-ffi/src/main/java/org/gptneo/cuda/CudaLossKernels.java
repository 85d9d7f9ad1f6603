package org.gptneo.cuda;

import org.gptneo.backend.AdamWStep;
import org.gptneo.backend.AttentionMask;
import org.gptneo.cuda.runtime.GemmCall;
import org.gptneo.tensor.Tensor;

/** The CUDA backend's softmax cross-entropy, per row and mean (see {@link org.gptneo.backend.Backend} for each contract). */
final class CudaLossKernels {
    private CudaLossKernels() {{}}

    static void crossEntropy(CudaDevice gpu, Tensor logits, Tensor targets, int ignoreIndex, Tensor losses) {
        throw new UnsupportedOperationException("cuda: crossEntropy is not written yet");
    }

    static void crossEntropyBackward(CudaDevice gpu, Tensor logits, Tensor targets, int ignoreIndex, float scale, Tensor dLogits) {
        throw new UnsupportedOperationException("cuda: crossEntropyBackward is not written yet");
    }

    static void crossEntropyMean(CudaDevice gpu, Tensor logits, Tensor targets, int ignoreIndex, Tensor out) {
        throw new UnsupportedOperationException("cuda: crossEntropyMean is not written yet");
    }

    static void crossEntropyMeanBackward(CudaDevice gpu, Tensor logits, Tensor targets, int ignoreIndex, Tensor dOut, Tensor dLogits) {
        throw new UnsupportedOperationException("cuda: crossEntropyMeanBackward is not written yet");
    }

}
