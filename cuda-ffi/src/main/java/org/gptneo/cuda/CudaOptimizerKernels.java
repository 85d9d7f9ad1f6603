package org.gptneo.cuda;

import static org.gptneo.backend.KernelChecks.requireSameSize;
import static org.gptneo.cuda.CudaElementwise.requireDenseF32;

import org.gptneo.backend.AdamWStep;
import org.gptneo.cuda.runtime.KernelArgs;
import org.gptneo.cuda.runtime.Launch;
import org.gptneo.tensor.Tensor;

/** The CUDA backend's AdamW step (see {@link org.gptneo.backend.Backend} for its contract). */
final class CudaOptimizerKernels {
    private CudaOptimizerKernels() {}

    /** The step's scalars are rounded on the host as the CPU backend rounds them; the kernel does its float operations. */
    static void adamW(CudaDevice gpu, Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep s) {
        requireSameSize(param, grad);
        requireSameSize(param, m);
        requireSameSize(param, v);
        for (Tensor t : new Tensor[] {param, grad, m, v}) requireDenseF32(t, "adamW");
        float stepSize = (float) (s.lr() / (1 - Math.pow(s.beta1(), s.step())));
        float bias2Sqrt = (float) Math.sqrt(1 - Math.pow(s.beta2(), s.step()));
        float decay = 1f - s.lr() * s.weightDecay();
        float b1 = s.beta1(), b2 = s.beta2();
        gpu.launch("adamw_f32", Launch.elementwise(param.size()), KernelArgs.of().pointer(gpu.address(param))
                .pointer(gpu.address(grad)).pointer(gpu.address(m)).pointer(gpu.address(v)).i64(param.size())
                .f32(decay).f32(b1).f32(b2).f32(1f - b1).f32(1f - b2).f32(s.eps()).f32(stepSize).f32(bias2Sqrt));
    }
}
