package org.gptneo.cuda;

import org.gptneo.backend.AdamWStep;
import org.gptneo.backend.AttentionMask;
import org.gptneo.cuda.runtime.GemmCall;
import org.gptneo.tensor.Tensor;

/** The CUDA backend's matrix products: cuBLAS GEMMs, batched and broadcast, weights widened from BF16/F16/Q8 (see {@link org.gptneo.backend.Backend} for each contract). */
final class CudaMatmul {
    private CudaMatmul() {{}}

    static void matmul(CudaDevice gpu, GemmCall.Precision precision, Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor c, float alpha, float beta) {
        throw new UnsupportedOperationException("cuda: matmul is not written yet");
    }

}
