package org.gptneo.cuda;

import static org.gptneo.backend.KernelChecks.requireSameSize;
import static org.gptneo.backend.KernelChecks.requireScatterShapes;
import static org.gptneo.cuda.CudaElementwise.requireDenseF32;

import org.gptneo.cuda.runtime.KernelArgs;
import org.gptneo.cuda.runtime.Launch;
import org.gptneo.tensor.Tensor;

/** The CUDA backend's mixture-of-experts kernels: relu, row scatter, row normalisation (see {@link org.gptneo.backend.Backend} for each contract). */
final class CudaRoutingKernels {
    private CudaRoutingKernels() {}

    static void relu(CudaDevice gpu, Tensor x, Tensor out) {
        requireSameSize(x, out);
        requireDenseF32(x, "relu");
        requireDenseF32(out, "relu");
        gpu.launch("relu_f32", Launch.elementwise(x.size()),
                KernelArgs.of().pointer(gpu.address(x)).pointer(gpu.address(out)).i64(x.size()));
    }

    static void reluBackward(CudaDevice gpu, Tensor x, Tensor dOut, Tensor dx) {
        requireSameSize(x, dOut);
        requireSameSize(x, dx);
        for (Tensor t : new Tensor[] {x, dOut, dx}) requireDenseF32(t, "reluBackward");
        gpu.launch("relu_backward_f32", Launch.elementwise(x.size()), KernelArgs.of().pointer(gpu.address(x))
                .pointer(gpu.address(dOut)).pointer(gpu.address(dx)).i64(x.size()));
    }

    /** One thread per column walks m = 0 … M − 1 in order, so repeated rows add in the reference's order. */
    static void scatterAddRows(CudaDevice gpu, Tensor src, Tensor weights, Tensor rows, Tensor out) {
        requireScatterShapes(src, weights, rows, out);
        requireRows(gpu, rows, out.dim(0));
        for (Tensor t : new Tensor[] {src, weights, out}) requireDenseF32(t, "scatterAddRows");
        int c = out.dim(1);
        gpu.launch("scatter_add_rows_f32", Launch.elementwise(c), KernelArgs.of().pointer(gpu.address(src))
                .pointer(gpu.address(weights)).pointer(gpu.address(rows)).pointer(gpu.address(out)).i64(src.dim(0)).i32(c));
    }

    /** One block per m: its dSrc row, and its dWeights element as a block-wide sum. */
    static void scatterAddRowsBackward(CudaDevice gpu, Tensor dOut, Tensor src, Tensor weights, Tensor rows, Tensor dSrc, Tensor dWeights) {
        requireScatterShapes(src, weights, rows, dOut);
        requireSameSize(src, dSrc);
        requireSameSize(weights, dWeights);
        requireRows(gpu, rows, dOut.dim(0));
        for (Tensor t : new Tensor[] {dOut, src, weights, dSrc, dWeights}) requireDenseF32(t, "scatterAddRowsBackward");
        int m = src.dim(0);
        gpu.launch("scatter_add_rows_backward_f32", Launch.perRow(m, Launch.THREADS, 0), KernelArgs.of()
                .pointer(gpu.address(dOut)).pointer(gpu.address(src)).pointer(gpu.address(weights)).pointer(gpu.address(rows))
                .pointer(gpu.address(dSrc)).pointer(gpu.address(dWeights)).i64(m).i32(dOut.dim(1)));
    }

    /**
     * Throws the message every backend gives ({@link org.gptneo.backend.KernelChecks#checkedRow}) for the
     * first I32 row index outside [0, limit) (one number crosses to the host).
     */
    private static void requireRows(CudaDevice gpu, Tensor rows, int limit) {
        CudaIndexKernels.requireDenseI32(rows, "scatterAddRows");
        // allowed = 0 lies inside [0, limit), so it exempts nothing; with limit 0 every row is outside
        long at = limit > 0 ? CudaIndexKernels.firstOutOfRange(gpu, rows, 0, limit, 0) : rows.size() > 0 ? 0 : -1;
        if (at >= 0) {
            int row = gpu.readInt(rows, at);
            throw new IndexOutOfBoundsException("row index " + row + " at position " + at + " is outside [0, " + limit + ")");
        }
    }

    static void normalizeRows(CudaDevice gpu, Tensor x, float eps, Tensor out) {
        requireSameSize(x, out);
        requireDenseF32(x, "normalizeRows");
        requireDenseF32(out, "normalizeRows");
        if (x.size() == 0) return;                                                    // K may be 0
        int k = x.dim(-1);
        long rows = x.size() / k;
        gpu.launch("normalize_rows_f32", Launch.elementwise(rows),
                KernelArgs.of().pointer(gpu.address(x)).pointer(gpu.address(out)).i64(rows).i32(k).f32(eps));
    }

    static void normalizeRowsBackward(CudaDevice gpu, Tensor x, Tensor out, Tensor dOut, float eps, Tensor dx) {
        requireSameSize(x, out);
        requireSameSize(x, dOut);
        requireSameSize(x, dx);
        for (Tensor t : new Tensor[] {x, out, dOut, dx}) requireDenseF32(t, "normalizeRowsBackward");
        if (x.size() == 0) return;                                                    // K may be 0
        int k = x.dim(-1);
        long rows = x.size() / k;
        gpu.launch("normalize_rows_backward_f32", Launch.elementwise(rows), KernelArgs.of().pointer(gpu.address(x))
                .pointer(gpu.address(out)).pointer(gpu.address(dOut)).pointer(gpu.address(dx)).i64(rows).i32(k).f32(eps));
    }
}
