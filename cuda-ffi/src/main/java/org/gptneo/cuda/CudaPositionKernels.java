package org.gptneo.cuda;

import org.gptneo.backend.AdamWStep;
import org.gptneo.backend.AttentionMask;
import org.gptneo.cuda.runtime.GemmCall;
import org.gptneo.tensor.Tensor;

/** The CUDA backend's rotary positions (see {@link org.gptneo.backend.Backend} for each contract). */
final class CudaPositionKernels {
    private CudaPositionKernels() {{}}

    static void rotary(CudaDevice gpu, Tensor x, Tensor positions, float base, boolean inverse, Tensor out) {
        throw new UnsupportedOperationException("cuda: rotary is not written yet");
    }

}
