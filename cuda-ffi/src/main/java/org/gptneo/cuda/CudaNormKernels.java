package org.gptneo.cuda;

import static org.gptneo.cuda.CudaElementwise.requireDenseF32;

import org.gptneo.cuda.runtime.KernelArgs;
import org.gptneo.cuda.runtime.Launch;
import org.gptneo.tensor.Tensor;

/** The CUDA backend's layer norm, forward and backward (norm.cu): one block per row. */
final class CudaNormKernels {
    private CudaNormKernels() {}

    static void layerNorm(CudaDevice gpu, Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out, Tensor mean, Tensor rstd) {
        int c = x.dim(-1);
        long rows = requireShapes("layerNorm", x, gamma, out, mean, rstd);
        requireDenseF32(beta, "layerNorm");
        if (beta.size() != c) {
            throw new IllegalArgumentException("layerNorm: beta " + beta + " does not match C = " + c);
        }
        if (rows == 0 || c == 0) {
            return;
        }
        gpu.launch("layer_norm_f32", Launch.perRow(Math.toIntExact(rows), Launch.THREADS, 0), KernelArgs.of()
                .pointer(gpu.address(x)).pointer(gpu.address(gamma)).pointer(gpu.address(beta)).f32(eps)
                .pointer(gpu.address(out)).pointer(gpu.address(mean)).pointer(gpu.address(rstd)).i32(c));
    }

    static void layerNormBackward(CudaDevice gpu, Tensor dOut, Tensor x, Tensor gamma, Tensor mean, Tensor rstd,
                                  Tensor dx, Tensor dGamma, Tensor dBeta) {
        int c = x.dim(-1);
        long rows = requireShapes("layerNormBackward", x, gamma, dx, mean, rstd);
        for (Tensor t : new Tensor[] {dOut, dGamma, dBeta}) requireDenseF32(t, "layerNormBackward");
        if (dOut.size() != x.size() || dGamma.size() != c || dBeta.size() != c) {
            throw new IllegalArgumentException("layerNormBackward: dOut " + dOut + ", dGamma " + dGamma + ", dBeta " + dBeta
                    + " do not match x " + x);
        }
        if (rows == 0 || c == 0) {
            return;
        }
        gpu.launch("layer_norm_backward_dx_f32", Launch.perRow(Math.toIntExact(rows), Launch.THREADS, 0), KernelArgs.of()
                .pointer(gpu.address(dOut)).pointer(gpu.address(x)).pointer(gpu.address(gamma)).pointer(gpu.address(mean))
                .pointer(gpu.address(rstd)).pointer(gpu.address(dx)).i32(c));
        gpu.launch("layer_norm_backward_params_f32", Launch.elementwise(c), KernelArgs.of()
                .pointer(gpu.address(dOut)).pointer(gpu.address(x)).pointer(gpu.address(mean)).pointer(gpu.address(rstd))
                .pointer(gpu.address(dGamma)).pointer(gpu.address(dBeta)).i64(rows).i32(c));
    }

    /** Checks x, out [N, C], gamma [C], mean and rstd [N]; returns N. */
    private static long requireShapes(String kernel, Tensor x, Tensor gamma, Tensor out, Tensor mean, Tensor rstd) {
        for (Tensor t : new Tensor[] {x, gamma, out, mean, rstd}) requireDenseF32(t, kernel);
        int c = x.dim(-1);
        long rows = c == 0 ? 0 : x.size() / c;
        if (gamma.size() != c || out.size() != x.size() || mean.size() != rows || rstd.size() != rows) {
            throw new IllegalArgumentException(kernel + ": x " + x + ", gamma " + gamma + ", out " + out + ", mean " + mean
                    + ", rstd " + rstd + " do not fit [N, C], [C], [N, C], [N], [N]");
        }
        return rows;
    }
}
