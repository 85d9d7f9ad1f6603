package org.gptneo.cuda;

import static org.gptneo.backend.KernelChecks.requireSameSize;

import java.lang.foreign.Arena;
import org.gptneo.backend.KernelChecks;
import org.gptneo.cuda.runtime.KernelArgs;
import org.gptneo.cuda.runtime.Launch;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/** The CUDA backend's index kernels: positions, div/mod, shifted targets, id validation (see {@link org.gptneo.backend.Backend} for each contract). */
final class CudaIndexKernels {
    private CudaIndexKernels() {}

    static void iota(CudaDevice gpu, Tensor out) {
        requireDenseI32(out, "iota");
        if (out.size() == 0) return;                                                  // T may be 0
        gpu.launch("iota_i32", Launch.elementwise(out.size()),
                KernelArgs.of().pointer(gpu.address(out)).i64(out.size()).i32(out.dim(-1)));
    }

    static void divMod(CudaDevice gpu, Tensor x, int divisor, Tensor quotient, Tensor remainder) {
        if (divisor < 1) {
            throw new IllegalArgumentException("divMod: divisor must be ≥ 1, got " + divisor);
        }
        requireSameSize(x, quotient);
        requireSameSize(x, remainder);
        requireDenseI32(x, "divMod");
        requireDenseI32(quotient, "divMod");
        requireDenseI32(remainder, "divMod");
        gpu.launch("div_mod_i32", Launch.elementwise(x.size()), KernelArgs.of().pointer(gpu.address(x))
                .pointer(gpu.address(quotient)).pointer(gpu.address(remainder)).i64(x.size()).i32(divisor));
    }

    static void shiftLeft(CudaDevice gpu, Tensor labels, int fill, Tensor targets) {
        if (labels.rank() != 2 || targets.size() != labels.size()) {
            throw new IllegalArgumentException("shiftLeft: labels " + labels + " do not fit targets " + targets);
        }
        requireDenseI32(labels, "shiftLeft");
        requireDenseI32(targets, "shiftLeft");
        if (labels.size() == 0) return;                                               // T may be 0
        gpu.launch("shift_left_i32", Launch.elementwise(labels.size()), KernelArgs.of().pointer(gpu.address(labels))
                .pointer(gpu.address(targets)).i64(labels.size()).i32(labels.dim(1)).i32(fill));
    }

    static long firstOutOfRange(CudaDevice gpu, Tensor ids, int lo, int hi, int allowed) {
        requireDenseI32(ids, "firstOutOfRange");
        try (Arena scratch = Arena.ofConfined()) {
            Tensor first = gpu.allocate(scratch, DType.I32, 2);                       // one unsigned long long
            gpu.runtime().memset(gpu.address(first), 0xFF, 8);
            gpu.launch("first_out_of_range", Launch.elementwise(ids.size()),
                    KernelArgs.of().pointer(gpu.address(ids)).i64(ids.size()).i32(lo).i32(hi).i32(allowed).pointer(gpu.address(first)));
            return gpu.readLong(gpu.address(first));                                  // ~0 = -1: none
        }
    }

    /**
     * Throws the message every backend gives ({@link KernelChecks#checkedId}) when an I32 id lies
     * outside [0, limit) (one number crosses to the host).
     */
    static void requireIds(CudaDevice gpu, Tensor ids, int limit, int allowed) {
        long at = firstOutOfRange(gpu, ids, 0, limit, allowed);
        if (at >= 0) {
            int id = gpu.readInt(ids, at);
            throw new IndexOutOfBoundsException("token id " + id + " at position " + at + " is outside [0, " + limit + ")");
        }
    }

    static void requireDenseI32(Tensor t, String kernel) {
        if (t.dtype() != DType.I32 || !t.isContiguous()) {
            throw new IllegalArgumentException(kernel + " takes a dense I32 tensor, got " + t);
        }
    }

}
