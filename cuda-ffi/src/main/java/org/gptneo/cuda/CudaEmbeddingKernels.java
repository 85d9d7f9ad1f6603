package org.gptneo.cuda;

import org.gptneo.cuda.runtime.KernelArgs;
import org.gptneo.cuda.runtime.Launch;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/** The CUDA backend's embedding lookup and its scatter backward (see {@link org.gptneo.backend.Backend} for each contract). */
final class CudaEmbeddingKernels {
    /** Most row chunks the backward splits dTable into (grid y): parallelism over rows beyond the columns. */
    private static final int MAX_ROW_CHUNKS = 64;

    private CudaEmbeddingKernels() {}

    /** out [N, C] = table [V, C] rows ids [N], widened to F32; ids checked before anything is written. */
    static void embedding(CudaDevice gpu, Tensor table, Tensor ids, Tensor out) {
        if (table.dtype() == DType.I32 || !table.isContiguous()) {
            throw new IllegalArgumentException("embedding takes a dense F32, BF16, F16 or Q8 table, got " + table);
        }
        CudaIndexKernels.requireDenseI32(ids, "embedding");
        CudaElementwise.requireDenseF32(out, "embedding");
        int c = table.dim(-1);
        if (out.size() != ids.size() * c) {
            throw new IllegalArgumentException("embedding: table [V, C], ids [N] and out [N, C] do not fit: "
                    + table + ", " + ids + ", " + out);
        }
        requireIds(gpu, ids, table.dim(0));
        String kernel = switch (table.dtype()) {
            case F32 -> "embedding_f32";
            case BF16 -> "embedding_bf16";
            case F16 -> "embedding_f16";
            case Q8 -> "embedding_q8";
            case I32 -> throw new IllegalStateException("checked above");
        };
        gpu.launch(kernel, Launch.elementwise(out.size()),
                KernelArgs.of().pointer(gpu.address(table)).pointer(gpu.address(ids)).i64(ids.size()).i64(c).pointer(gpu.address(out)));
    }

    /** dTable [V, C] += dOut [N, C] at the rows ids [N], in order of n; ids checked before anything is written. */
    static void embeddingBackward(CudaDevice gpu, Tensor ids, Tensor dOut, Tensor dTable) {
        CudaIndexKernels.requireDenseI32(ids, "embeddingBackward");
        CudaElementwise.requireDenseF32(dOut, "embeddingBackward");
        CudaElementwise.requireDenseF32(dTable, "embeddingBackward");
        int vocab = dTable.dim(0), c = dTable.dim(-1);
        if (dOut.size() != ids.size() * c) {
            throw new IllegalArgumentException("embeddingBackward: ids [N], dOut [N, C] and dTable [V, C] do not fit: "
                    + ids + ", " + dOut + ", " + dTable);
        }
        requireIds(gpu, ids, vocab);
        if (vocab == 0 || c == 0) return;
        int chunks = Math.min(vocab, MAX_ROW_CHUNKS);
        int rowsPerChunk = (vocab + chunks - 1) / chunks;
        chunks = (vocab + rowsPerChunk - 1) / rowsPerChunk;
        int columnBlocks = (c + Launch.THREADS - 1) / Launch.THREADS;
        gpu.launch("embedding_backward_f32", Launch.grid(columnBlocks, chunks, 1, Launch.THREADS, 0),
                KernelArgs.of().pointer(gpu.address(ids)).pointer(gpu.address(dOut)).i64(ids.size()).i64(c).i32(rowsPerChunk)
                        .pointer(gpu.address(dTable)));
    }

    /**
     * Every id in [0, limit), else the message every backend gives. 0 stands for "no id exempt" (it
     * is in range whenever any id is), so an empty table is refused up front at position 0.
     */
    private static void requireIds(CudaDevice gpu, Tensor ids, int limit) {
        if (limit == 0 && ids.size() > 0) {
            throw new IndexOutOfBoundsException("token id " + gpu.readInt(ids, 0) + " at position 0 is outside [0, 0)");
        }
        CudaIndexKernels.requireIds(gpu, ids, limit, 0);
    }
}
