package org.gptneo.cuda;

import static org.gptneo.cuda.CudaElementwise.requireDenseF32;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.function.IntBinaryOperator;
import org.gptneo.backend.AttentionMask;
import org.gptneo.cuda.runtime.KernelArgs;
import org.gptneo.cuda.runtime.Launch;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * The CUDA backend's fused softmax attention and its backward (attention.cu), GPT-Neo's way: no
 * 1/√hs scaling, causal and local windows, left padding, dropout drawn inside the kernels. Nothing
 * T × S is materialised: rowStats keeps each query row's log-sum-exp, from which the backward
 * recomputes the probabilities.
 */
final class CudaAttentionKernels {
    private CudaAttentionKernels() {}

    /** Threads per block of every attention kernel. */
    private static final int THREADS = 128;
    /** Most query rows a tile holds (ATTN_MAX_ROWS in attention.cu) and most keys. */
    private static final int MAX_TILE = 32;
    /** Dynamic shared memory a block takes at most: 48 KiB (what every architecture grants without opting in) less the static per-row arrays. */
    private static final int SHARED_BYTES = 47 * 1024;

    /** out [B, H, T, hs] and rowStats [B, H, T] from q [B, H, T, hs] and k, v [B, H, S, hs]. */
    static void attention(CudaDevice gpu, Tensor q, Tensor k, Tensor v, AttentionMask mask, float dropout, long seed,
                          Tensor out, Tensor rowStats) {
        Shape sh = Shape.of(q, k, v, out, rowStats, "attention");
        if (out.size() == 0) return;
        if (sh.s() == 0) {                                   // no keys: a product over nothing
            CudaElementwise.fill(gpu, out, 0f);
            return;
        }
        // shared memory: q, o, k, v tiles and the probabilities
        Tiles tiles = Tiles.fit(sh, 1, (rows, cols) -> 2 * rows * (sh.hs() + 1) + 2 * cols * (sh.hs() + 1) + rows * (cols + 1));
        try (Arena scratch = Arena.ofConfined()) {
            long keys = CudaSoftmaxKernels.firstKeys(gpu, scratch, mask.firstKeys(), sh.pairs(), "attention");
            gpu.launch("attention_forward_f32", tiles.perQueryTile(sh), sh.arguments(gpu, q, k, v,
                    new long[] {gpu.address(out), gpu.address(rowStats)}, mask, keys, dropout, seed, tiles));
        }
    }

    /** dq [B, H, T, hs], dk and dv [B, H, S, hs] (each null when not wanted) += the gradients of {@link #attention}. */
    static void attentionBackward(CudaDevice gpu, Tensor q, Tensor k, Tensor v, AttentionMask mask, float dropout, long seed,
                                  Tensor out, Tensor rowStats, Tensor dOut, Tensor dq, Tensor dk, Tensor dv) {
        Shape sh = Shape.of(q, k, v, out, rowStats, "attentionBackward");
        requireDenseF32(dOut, "attentionBackward");
        if (!dOut.sameShape(q) || (dq != null && !dq.sameShape(q)) || (dk != null && !dk.sameShape(k))
                || (dv != null && !dv.sameShape(k))) {
            throw new IllegalArgumentException("attentionBackward needs dOut, dq " + q + " and dk, dv " + k + ", got "
                    + dOut + ", " + dq + ", " + dk + " and " + dv);
        }
        for (Tensor g : new Tensor[] {dq, dk, dv}) {
            if (g != null) requireDenseF32(g, "attentionBackward");
        }
        if (out.size() == 0 || sh.s() == 0 || (dq == null && dk == null && dv == null)) return;
        try (Arena scratch = Arena.ofConfined()) {
            long keys = CudaSoftmaxKernels.firstKeys(gpu, scratch, mask.firstKeys(), sh.pairs(), "attentionBackward");
            long rows = (long) sh.pairs() * sh.t();
            Tensor dots = gpu.allocate(scratch, DType.F32, Math.toIntExact(rows));         // D = Σ dO ⊙ O per row
            gpu.launch("attention_row_dots_f32", Launch.elementwise(rows), KernelArgs.of().pointer(gpu.address(out))
                    .pointer(gpu.address(dOut)).pointer(gpu.address(dots)).i64(rows).i32(sh.hs()));
            long[] common = {gpu.address(dOut), gpu.address(rowStats), gpu.address(dots)};
            if (dq != null) {                                // q, dO, dq, k, v tiles and dS
                Tiles tiles = Tiles.fit(sh, 1, (r, c) -> 3 * r * (sh.hs() + 1) + 2 * c * (sh.hs() + 1) + r * (c + 1));
                gpu.launch("attention_backward_dq_f32", tiles.perQueryTile(sh), sh.arguments(gpu, q, k, v,
                        append(common, gpu.address(dq)), mask, keys, dropout, seed, tiles));
            }
            if (dk != null || dv != null) {                  // k, v, dk, dv tiles, q and dO tiles, dS and P ⊙ dropout
                Tiles tiles = Tiles.fit(sh, 2, (r, c) -> 4 * c * (sh.hs() + 1) + 2 * r * (sh.hs() + 1) + 2 * r * (c + 1));
                long pk = dk == null ? 0 : gpu.address(dk), pv = dv == null ? 0 : gpu.address(dv);
                gpu.launch("attention_backward_dkdv_f32", tiles.perKeyTile(sh), sh.arguments(gpu, q, k, v,
                        append(append(common, pk), pv), mask, keys, dropout, seed, tiles));
            }
        }
    }

    private static long[] append(long[] pointers, long pointer) {
        long[] more = Arrays.copyOf(pointers, pointers.length + 1);
        more[pointers.length] = pointer;
        return more;
    }

    /** The shapes every call checks: B·H pairs, t queries, s keys, hs head size. */
    private record Shape(int batch, int heads, int t, int s, int hs) {
        static Shape of(Tensor q, Tensor k, Tensor v, Tensor out, Tensor rowStats, String kernel) {
            if (q.rank() != 4 || k.rank() != 4 || !k.sameShape(v) || !out.sameShape(q) || k.dim(0) != q.dim(0)
                    || k.dim(1) != q.dim(1) || k.dim(3) != q.dim(3) || rowStats.rank() != 3 || rowStats.dim(0) != q.dim(0)
                    || rowStats.dim(1) != q.dim(1) || rowStats.dim(2) != q.dim(2)) {
                throw new IllegalArgumentException(kernel + " needs q, out [B, H, T, hs], k, v [B, H, S, hs] and rowStats [B, H, T], got "
                        + q + ", " + out + ", " + k + ", " + v + " and " + rowStats);
            }
            for (Tensor x : new Tensor[] {q, out, rowStats}) requireDenseF32(x, kernel);
            for (Tensor x : new Tensor[] {k, v}) {
                if (x.dtype() != DType.F32 || (x.dim(3) > 1 && x.strides()[3] != 1)) {
                    throw new IllegalArgumentException(kernel + " reads k and v as F32 with a dense last dimension, got " + x);
                }
            }
            return new Shape(q.dim(0), q.dim(1), q.dim(2), k.dim(2), q.dim(3));
        }

        int pairs() {
            return Math.multiplyExact(batch, heads);
        }

        /**
         * A kernel's arguments: q, k, v, then {@code pointers}, the sizes, k's and v's batch, head and row
         * strides, the mask (its per-row first keys at device address {@code firstKeys}), dropout and the tile.
         */
        KernelArgs arguments(CudaDevice gpu, Tensor q, Tensor k, Tensor v, long[] pointers, AttentionMask mask,
                             long firstKeys, float dropout, long seed, Tiles tiles) {
            KernelArgs args = KernelArgs.of().pointer(gpu.address(q)).pointer(gpu.address(k)).pointer(gpu.address(v));
            for (long pointer : pointers) args.pointer(pointer);
            long[] ks = k.strides(), vs = v.strides();
            return args.i32(t).i32(s).i32(hs).i32(heads).i64(ks[0]).i64(ks[1]).i64(ks[2]).i64(vs[0]).i64(vs[1]).i64(vs[2])
                    .i32(mask.window()).i32(mask.causal() ? 1 : 0).pointer(firstKeys)
                    .i32(mask.firstKeys() == null ? 0 : mask.firstKeys().length)
                    .f32(dropout).f32(1f / (1f - dropout)).i64(seed).i32(tiles.rows()).i32(tiles.cols());
        }
    }

    /** A tile of query rows × keys and the dynamic shared memory its kernel takes. */
    private record Tiles(int rows, int cols, int sharedBytes) {
        /**
         * The largest tile with {@code ratio} times as many keys as query rows (each at most
         * {@link #MAX_TILE}, and no larger than the sizes need) whose {@code floats} fit {@link #SHARED_BYTES}.
         */
        static Tiles fit(Shape sh, int ratio, IntBinaryOperator floats) {
            for (int cols = MAX_TILE; cols >= 1; cols /= 2) {
                int rows = Math.min(Math.max(1, cols / ratio), powerOfTwoAtLeast(sh.t()));
                int keys = Math.min(cols, powerOfTwoAtLeast(sh.s()));
                long bytes = (long) Float.BYTES * floats.applyAsInt(rows, keys);
                if (bytes <= SHARED_BYTES) return new Tiles(rows, keys, (int) bytes);
            }
            throw new IllegalArgumentException("attention: head size " + sh.hs() + " needs more shared memory than a block has");
        }

        /** One block per (pair, tile of query rows): the forward and the dq kernel. */
        Launch perQueryTile(Shape sh) {
            return Launch.perRow(Math.multiplyExact(sh.pairs(), (sh.t() + rows - 1) / rows), THREADS, sharedBytes);
        }

        /** One block per (pair, tile of keys): the dk, dv kernel. */
        Launch perKeyTile(Shape sh) {
            return Launch.perRow(Math.multiplyExact(sh.pairs(), (sh.s() + cols - 1) / cols), THREADS, sharedBytes);
        }

        private static int powerOfTwoAtLeast(int n) {
            return n <= 1 ? 1 : Integer.highestOneBit(n - 1) << 1;
        }
    }
}
