package org.gptneo.cuda;

import static org.gptneo.backend.KernelChecks.requireSameSize;
import static org.gptneo.cuda.CudaElementwise.requireDenseF32;
import static org.gptneo.cuda.CudaIndexKernels.requireDenseI32;

import org.gptneo.cuda.runtime.KernelArgs;
import org.gptneo.cuda.runtime.Launch;
import org.gptneo.tensor.Tensor;

/** The CUDA backend's rotary positions (position.cu): one thread per rotated pair. */
final class CudaPositionKernels {
    private CudaPositionKernels() {}

    static void rotary(CudaDevice gpu, Tensor x, Tensor positions, float base, boolean inverse, Tensor out) {
        requireDenseF32(x, "rotary");
        requireDenseF32(out, "rotary");
        requireDenseI32(positions, "rotary");
        requireSameSize(x, out);
        if (x.rank() != 4 || x.dim(3) % 2 != 0 || positions.size() != (long) x.dim(0) * x.dim(2)) {
            throw new IllegalArgumentException("rotary takes x [B, H, T, hs] with hs even and positions [B·T], got " + x
                    + " and " + positions);
        }
        long rows = x.size() / Math.max(1, x.dim(3));
        long pairs = rows * (x.dim(3) / 2);
        if (pairs == 0) {
            return;
        }
        gpu.launch("rotary_f32", Launch.elementwise(pairs), KernelArgs.of().pointer(gpu.address(x))
                .pointer(gpu.address(positions)).f32(base).i32(inverse ? 1 : 0).pointer(gpu.address(out)).i64(rows)
                .i32(x.dim(1)).i32(x.dim(2)).i32(x.dim(3)));
    }
}
