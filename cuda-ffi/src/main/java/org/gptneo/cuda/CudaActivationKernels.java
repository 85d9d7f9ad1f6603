package org.gptneo.cuda;

import org.gptneo.backend.AdamWStep;
import org.gptneo.backend.AttentionMask;
import org.gptneo.cuda.runtime.GemmCall;
import org.gptneo.tensor.Tensor;

/** The CUDA backend's gelu_new and exp (see {@link org.gptneo.backend.Backend} for each contract). */
final class CudaActivationKernels {
    private CudaActivationKernels() {{}}

    static void exp(CudaDevice gpu, Tensor x, Tensor out) {
        throw new UnsupportedOperationException("cuda: exp is not written yet");
    }

    static void geluNew(CudaDevice gpu, Tensor x, Tensor out) {
        throw new UnsupportedOperationException("cuda: geluNew is not written yet");
    }

    static void geluNewBackward(CudaDevice gpu, Tensor x, Tensor dOut, Tensor dx) {
        throw new UnsupportedOperationException("cuda: geluNewBackward is not written yet");
    }

}
