package org.gptneo.cuda;

import static org.gptneo.backend.KernelChecks.requireSameSize;
import static org.gptneo.cuda.CudaElementwise.requireDenseF32;

import org.gptneo.cuda.runtime.KernelArgs;
import org.gptneo.cuda.runtime.Launch;
import org.gptneo.tensor.Tensor;

/** The CUDA backend's gelu_new (forward and backward) and exp (activation.cu), elementwise. */
final class CudaActivationKernels {
    private CudaActivationKernels() {}

    static void geluNew(CudaDevice gpu, Tensor x, Tensor out) {
        unary(gpu, "gelu_new_f32", "geluNew", x, out);
    }

    static void geluNewBackward(CudaDevice gpu, Tensor x, Tensor dOut, Tensor dx) {
        requireSameSize(x, dOut);
        requireSameSize(x, dx);
        for (Tensor t : new Tensor[] {x, dOut, dx}) requireDenseF32(t, "geluNewBackward");
        if (x.size() > 0) {
            gpu.launch("gelu_new_backward_f32", Launch.elementwise(x.size()), KernelArgs.of()
                    .pointer(gpu.address(x)).pointer(gpu.address(dOut)).pointer(gpu.address(dx)).i64(x.size()));
        }
    }

    static void exp(CudaDevice gpu, Tensor x, Tensor out) {
        unary(gpu, "exp_f32", "exp", x, out);
    }

    private static void unary(CudaDevice gpu, String kernel, String name, Tensor x, Tensor out) {
        requireSameSize(x, out);
        requireDenseF32(x, name);
        requireDenseF32(out, name);
        if (x.size() > 0) {
            gpu.launch(kernel, Launch.elementwise(x.size()),
                    KernelArgs.of().pointer(gpu.address(x)).pointer(gpu.address(out)).i64(x.size()));
        }
    }
}
