package org.gptneo.cuda;

import org.gptneo.backend.AdamWStep;
import org.gptneo.backend.AttentionMask;
import org.gptneo.cuda.runtime.GemmCall;
import org.gptneo.tensor.Tensor;

/** The CUDA backend's the AdamW step (see {@link org.gptneo.backend.Backend} for each contract). */
final class CudaOptimizerKernels {
    private CudaOptimizerKernels() {{}}

    static void adamW(CudaDevice gpu, Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step) {
        throw new UnsupportedOperationException("cuda: adamW is not written yet");
    }

}
