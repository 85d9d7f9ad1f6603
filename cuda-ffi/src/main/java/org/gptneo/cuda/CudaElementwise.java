package org.gptneo.cuda;

import org.gptneo.backend.AdamWStep;
import org.gptneo.backend.AttentionMask;
import org.gptneo.cuda.runtime.GemmCall;
import org.gptneo.cuda.runtime.KernelArgs;
import org.gptneo.cuda.runtime.Launch;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/** The CUDA backend's elementwise kernels, copies of strided views, reductions, bias and dropout (see {@link org.gptneo.backend.Backend} for each contract). */
final class CudaElementwise {
    private CudaElementwise() {{}}

    static void fill(CudaDevice gpu, Tensor t, float value) {
        requireDenseF32(t, "fill");
        gpu.launch("fill_f32", Launch.elementwise(t.size()), KernelArgs.of().pointer(gpu.address(t)).i64(t.size()).f32(value));
    }

    static void copy(CudaDevice gpu, Tensor src, Tensor dst) {
        throw new UnsupportedOperationException("cuda: copy is not written yet");
    }

    static void add(CudaDevice gpu, Tensor a, Tensor b, Tensor out) {
        throw new UnsupportedOperationException("cuda: add is not written yet");
    }

    static void mul(CudaDevice gpu, Tensor a, Tensor b, Tensor out) {
        throw new UnsupportedOperationException("cuda: mul is not written yet");
    }

    static void axpy(CudaDevice gpu, float alpha, Tensor x, Tensor y) {
        throw new UnsupportedOperationException("cuda: axpy is not written yet");
    }

    static void scale(CudaDevice gpu, Tensor t, float s) {
        throw new UnsupportedOperationException("cuda: scale is not written yet");
    }

    static double sumOfSquares(CudaDevice gpu, Tensor x) {
        throw new UnsupportedOperationException("cuda: sumOfSquares is not written yet");
    }

    static double sum(CudaDevice gpu, Tensor x) {
        throw new UnsupportedOperationException("cuda: sum is not written yet");
    }

    static void addSumOfSquares(CudaDevice gpu, Tensor x, Tensor out) {
        throw new UnsupportedOperationException("cuda: addSumOfSquares is not written yet");
    }

    static void addBias(CudaDevice gpu, Tensor x, Tensor bias) {
        throw new UnsupportedOperationException("cuda: addBias is not written yet");
    }

    static void addBiasBackward(CudaDevice gpu, Tensor dy, Tensor dBias) {
        throw new UnsupportedOperationException("cuda: addBiasBackward is not written yet");
    }

    static void swapMiddle(CudaDevice gpu, Tensor x, Tensor out, boolean accumulate) {
        throw new UnsupportedOperationException("cuda: swapMiddle is not written yet");
    }

    static void dropoutMask(CudaDevice gpu, Tensor mask, float p, long seed) {
        throw new UnsupportedOperationException("cuda: dropoutMask is not written yet");
    }


    static void requireDenseF32(Tensor t, String kernel) {
        if (t.dtype() != DType.F32 || !t.isContiguous()) {
            throw new IllegalArgumentException(kernel + " takes a dense F32 tensor, got " + t);
        }
    }
}
