package org.gptneo.cuda;

import org.gptneo.backend.AdamWStep;
import org.gptneo.backend.AttentionMask;
import org.gptneo.cuda.runtime.GemmCall;
import org.gptneo.tensor.Tensor;

/** The CUDA backend's mixture-of-experts kernels: relu, row scatter, row normalisation (see {@link org.gptneo.backend.Backend} for each contract). */
final class CudaRoutingKernels {
    private CudaRoutingKernels() {{}}

    static void relu(CudaDevice gpu, Tensor x, Tensor out) {
        throw new UnsupportedOperationException("cuda: relu is not written yet");
    }

    static void reluBackward(CudaDevice gpu, Tensor x, Tensor dOut, Tensor dx) {
        throw new UnsupportedOperationException("cuda: reluBackward is not written yet");
    }

    static void scatterAddRows(CudaDevice gpu, Tensor src, Tensor weights, Tensor rows, Tensor out) {
        throw new UnsupportedOperationException("cuda: scatterAddRows is not written yet");
    }

    static void scatterAddRowsBackward(CudaDevice gpu, Tensor dOut, Tensor src, Tensor weights, Tensor rows, Tensor dSrc, Tensor dWeights) {
        throw new UnsupportedOperationException("cuda: scatterAddRowsBackward is not written yet");
    }

    static void normalizeRows(CudaDevice gpu, Tensor x, float eps, Tensor out) {
        throw new UnsupportedOperationException("cuda: normalizeRows is not written yet");
    }

    static void normalizeRowsBackward(CudaDevice gpu, Tensor x, Tensor out, Tensor dOut, float eps, Tensor dx) {
        throw new UnsupportedOperationException("cuda: normalizeRowsBackward is not written yet");
    }

}
