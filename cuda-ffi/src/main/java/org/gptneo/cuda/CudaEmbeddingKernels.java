package org.gptneo.cuda;

import org.gptneo.backend.AdamWStep;
import org.gptneo.backend.AttentionMask;
import org.gptneo.cuda.runtime.GemmCall;
import org.gptneo.tensor.Tensor;

/** The CUDA backend's embedding lookup and its scatter backward (see {@link org.gptneo.backend.Backend} for each contract). */
final class CudaEmbeddingKernels {
    private CudaEmbeddingKernels() {{}}

    static void embedding(CudaDevice gpu, Tensor table, Tensor ids, Tensor out) {
        throw new UnsupportedOperationException("cuda: embedding is not written yet");
    }

    static void embeddingBackward(CudaDevice gpu, Tensor ids, Tensor dOut, Tensor dTable) {
        throw new UnsupportedOperationException("cuda: embeddingBackward is not written yet");
    }

}
