package org.gptneo.cuda;

import static org.gptneo.backend.KernelChecks.requireSameSize;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.gptneo.cuda.runtime.KernelArgs;
import org.gptneo.cuda.runtime.Launch;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/** The CUDA backend's elementwise kernels, copies of strided views, reductions, bias and dropout (see {@link org.gptneo.backend.Backend} for each contract). */
final class CudaElementwise {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private CudaElementwise() {}

    static void fill(CudaDevice gpu, Tensor t, float value) {
        requireDenseF32(t, "fill");
        gpu.launch("fill_f32", Launch.elementwise(t.size()), KernelArgs.of().pointer(gpu.address(t)).i64(t.size()).f32(value));
    }

    /** Same dtypes: a device copy (dense) or a gather (views); else F32 narrowed to BF16/F16 or widened from BF16/F16/Q8. */
    static void copy(CudaDevice gpu, Tensor src, Tensor dst) {
        requireSameSize(src, dst);
        if (!src.isContiguous() || !dst.isContiguous()) {
            copyStrided(gpu, src, dst);
        } else if (src.dtype() == dst.dtype()) {
            long bytes = src.dtype().bytes(src.size());
            long from = gpu.address(src), to = gpu.address(dst);
            if (bytes > 0) gpu.runtime().copyOnDevice(from, to, bytes);
        } else {
            String kernel = conversion(src.dtype(), dst.dtype());
            if (kernel == null) {
                throw new IllegalArgumentException("cuda: copy converts F32 to and from BF16/F16 (and Q8 to F32), not "
                        + src + " → " + dst);
            }
            gpu.launch(kernel, Launch.elementwise(src.size()),
                    KernelArgs.of().pointer(gpu.address(src)).pointer(gpu.address(dst)).i64(src.size()));
        }
    }

    /** The kernel converting dense {@code from} elements to {@code to} ones, or null when there is none. */
    private static String conversion(DType from, DType to) {
        if (from == DType.F32) {
            return switch (to) {
                case BF16 -> "narrow_bf16";
                case F16 -> "narrow_f16";
                default -> null;
            };
        }
        if (to != DType.F32) return null;
        return switch (from) {
            case BF16 -> "widen_bf16";
            case F16 -> "widen_f16";
            case Q8 -> "widen_q8";
            default -> null;
        };
    }

    /** Element by element for views whose last dimension is dense (a KV cache slot range, say), F32 or I32. */
    private static void copyStrided(CudaDevice gpu, Tensor src, Tensor dst) {
        if (!src.sameShape(dst) || src.dtype() != dst.dtype() || src.rank() == 0
                || src.strides()[src.rank() - 1] != 1 || dst.strides()[dst.rank() - 1] != 1) {
            throw new IllegalArgumentException("a strided copy needs equal shapes and dtypes with a dense last"
                    + " dimension: " + src + " → " + dst);
        }
        if (src.dtype() != DType.F32 && src.dtype() != DType.I32) {
            throw new IllegalArgumentException("cuda: a strided copy takes F32 or I32 views, got " + src + " → " + dst);
        }
        int rank = src.rank();
        long[] srcStrides = src.strides(), dstStrides = dst.strides();
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment host = scratch.allocate(LONG, 3L * rank);                  // shape, src strides, dst strides
            for (int d = 0; d < rank; d++) {
                host.setAtIndex(LONG, d, src.dim(d));
                host.setAtIndex(LONG, rank + d, srcStrides[d]);
                host.setAtIndex(LONG, 2L * rank + d, dstStrides[d]);
            }
            Tensor layout = gpu.allocate(scratch, DType.I32, 6 * rank);               // [3·rank] long long
            gpu.runtime().copyToDevice(host, gpu.address(layout), host.byteSize());
            gpu.launch("copy_strided_u32", Launch.elementwise(src.size()), KernelArgs.of().pointer(gpu.address(src))
                    .pointer(gpu.address(dst)).pointer(gpu.address(layout)).i32(rank).i64(src.size()));
        }
    }

    static void add(CudaDevice gpu, Tensor a, Tensor b, Tensor out) {
        binary(gpu, "add_f32", a, b, out);
    }

    static void mul(CudaDevice gpu, Tensor a, Tensor b, Tensor out) {
        binary(gpu, "mul_f32", a, b, out);
    }

    private static void binary(CudaDevice gpu, String kernel, Tensor a, Tensor b, Tensor out) {
        requireSameSize(a, b);
        requireSameSize(a, out);
        requireDenseF32(a, kernel);
        requireDenseF32(b, kernel);
        requireDenseF32(out, kernel);
        gpu.launch(kernel, Launch.elementwise(a.size()),
                KernelArgs.of().pointer(gpu.address(a)).pointer(gpu.address(b)).pointer(gpu.address(out)).i64(a.size()));
    }

    static void axpy(CudaDevice gpu, float alpha, Tensor x, Tensor y) {
        requireSameSize(x, y);
        requireDenseF32(x, "axpy");
        requireDenseF32(y, "axpy");
        gpu.launch("axpy_f32", Launch.elementwise(x.size()),
                KernelArgs.of().f32(alpha).pointer(gpu.address(x)).pointer(gpu.address(y)).i64(x.size()));
    }

    static void scale(CudaDevice gpu, Tensor t, float s) {
        requireDenseF32(t, "scale");
        gpu.launch("scale_f32", Launch.elementwise(t.size()), KernelArgs.of().pointer(gpu.address(t)).i64(t.size()).f32(s));
    }

    static double sumOfSquares(CudaDevice gpu, Tensor x) {
        return sumInDouble(gpu, x, true, "sumOfSquares");
    }

    static double sum(CudaDevice gpu, Tensor x) {
        return sumInDouble(gpu, x, false, "sum");
    }

    /** Σ x (or Σ x²) in double: per-block partial sums, then one block adds them; one double crosses to the host. */
    private static double sumInDouble(CudaDevice gpu, Tensor x, boolean squares, String kernel) {
        requireDenseF32(x, kernel);
        try (Arena scratch = Arena.ofConfined()) {
            Tensor partial = partialSums(gpu, scratch, x, squares);
            Tensor total = gpu.allocate(scratch, DType.F32, 2);                       // one double
            gpu.launch("sum_finish_f64", Launch.perRow(1, Launch.THREADS, 0), KernelArgs.of().pointer(gpu.address(partial))
                    .i32(Math.toIntExact(partial.size() / 2)).pointer(gpu.address(total)));
            return gpu.readDouble(gpu.address(total));
        }
    }

    /** out[0] = (float) (out[0] + Σ x²), the sum in double, without leaving the device. */
    static void addSumOfSquares(CudaDevice gpu, Tensor x, Tensor out) {
        requireDenseF32(x, "addSumOfSquares");
        requireDenseF32(out, "addSumOfSquares");
        if (out.size() < 1) {
            throw new IllegalArgumentException("addSumOfSquares: out [1] has no element: " + out);
        }
        try (Arena scratch = Arena.ofConfined()) {
            Tensor partial = partialSums(gpu, scratch, x, true);
            gpu.launch("add_sum_into_f32", Launch.perRow(1, Launch.THREADS, 0), KernelArgs.of().pointer(gpu.address(partial))
                    .i32(Math.toIntExact(partial.size() / 2)).pointer(gpu.address(out)));
        }
    }

    /** The per-block sums of x (or x²) in double, in a scratch F32 tensor of two floats per block. */
    private static Tensor partialSums(CudaDevice gpu, Arena scratch, Tensor x, boolean squares) {
        Launch launch = Launch.elementwise(x.size());
        Tensor partial = gpu.allocate(scratch, DType.F32, 2 * launch.gridX());          // [blocks] double
        gpu.launch("sum_partials_f64", launch, KernelArgs.of().pointer(gpu.address(x)).i64(x.size())
                .i32(squares ? 1 : 0).pointer(gpu.address(partial)));
        return partial;
    }

    static void addBias(CudaDevice gpu, Tensor x, Tensor bias) {
        int c = requireRowsOf(x, bias, "addBias");
        gpu.launch("add_bias_f32", Launch.elementwise(x.size()),
                KernelArgs.of().pointer(gpu.address(x)).pointer(gpu.address(bias)).i64(x.size()).i32(c));
    }

    /** One thread per column sums the rows in order (the reference's order: bit for bit). */
    static void addBiasBackward(CudaDevice gpu, Tensor dy, Tensor dBias) {
        int c = requireRowsOf(dy, dBias, "addBiasBackward");
        gpu.launch("add_bias_backward_f32", Launch.elementwise(c),
                KernelArgs.of().pointer(gpu.address(dy)).pointer(gpu.address(dBias)).i64(dy.size()).i32(c));
    }

    /** C = bias.dim(-1) for x [N, C] and bias [C], both dense F32. */
    private static int requireRowsOf(Tensor x, Tensor bias, String kernel) {
        requireDenseF32(x, kernel);
        requireDenseF32(bias, kernel);
        int c = bias.dim(-1);
        if (c == 0 || x.size() % c != 0) {
            throw new IllegalArgumentException(kernel + ": " + x + " is not rows of bias " + bias);
        }
        return c;
    }

    static void swapMiddle(CudaDevice gpu, Tensor x, Tensor out, boolean accumulate) {
        requireSameSize(x, out);
        requireDenseF32(x, "swapMiddle");
        requireDenseF32(out, "swapMiddle");
        if (x.rank() != 4) {
            throw new IllegalArgumentException("swapMiddle takes x [A, B, C, D], got " + x);
        }
        gpu.launch("swap_middle_f32", Launch.elementwise(x.size()), KernelArgs.of().pointer(gpu.address(x))
                .pointer(gpu.address(out)).i32(x.dim(1)).i32(x.dim(2)).i32(x.dim(3)).i64(x.size()).i32(accumulate ? 1 : 0));
    }

    static void dropoutMask(CudaDevice gpu, Tensor mask, float p, long seed) {
        requireDenseF32(mask, "dropoutMask");
        float keep = 1f / (1f - p);
        gpu.launch("dropout_mask_f32", Launch.elementwise(mask.size()),
                KernelArgs.of().pointer(gpu.address(mask)).i64(mask.size()).f32(p).f32(keep).i64(seed));
    }

    static void requireDenseF32(Tensor t, String kernel) {
        if (t.dtype() != DType.F32 || !t.isContiguous()) {
            throw new IllegalArgumentException(kernel + " takes a dense F32 tensor, got " + t);
        }
    }
}
