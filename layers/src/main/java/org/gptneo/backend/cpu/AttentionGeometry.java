package org.gptneo.backend.cpu;

import java.lang.foreign.MemorySegment;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.DropoutHash;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * Where the rows of one fused attention call live and which keys each query row sees. q [B, H, T, hs]
 * is dense; k and v [B, H, S, hs] may be views with a dense last dimension (a KV cache's filled slots),
 * so their rows are found through their strides. Pairs p = b·H + h number the (batch, head) matrices.
 *
 * <p>A query row sees the keys [first, end) that its mask leaves visible. A row that sees none is, as
 * in the reference's masked softmax, uniform over all S keys: the kernels treat it as a row whose
 * scores are all 0 over [0, S) ({@link #uniform}), which gives exactly that softmax and its gradient.
 */
record AttentionGeometry(int batch, int heads, int t, int s, int hs, AttentionMask mask,
                         long kBatch, long kHead, long kRow, long vBatch, long vHead, long vRow) {

    static AttentionGeometry of(Tensor q, Tensor k, Tensor v, AttentionMask mask) {
        if (q.rank() != 4 || k.rank() != 4 || !k.sameShape(v) || q.dim(0) != k.dim(0) || q.dim(1) != k.dim(1)
                || q.dim(3) != k.dim(3)) {
            throw new IllegalArgumentException("attention needs q [B, H, T, hs] and k, v [B, H, S, hs], got " + q + ", " + k
                    + " and " + v);
        }
        if (mask.firstKeys() != null && mask.firstKeys().length != q.dim(0)) {
            throw new IllegalArgumentException("attention mask " + mask + " has " + mask.firstKeys().length
                    + " batch rows, q " + q + " has " + q.dim(0));
        }
        long[] ks = rowStrides(k), vs = rowStrides(v);
        return new AttentionGeometry(q.dim(0), q.dim(1), q.dim(2), k.dim(2), q.dim(3), mask, ks[0], ks[1], ks[2], vs[0], vs[1], vs[2]);
    }

    /** The memory of an F32 key or value tensor, dense or a view whose last dimension is dense. */
    static MemorySegment rows(Tensor t) {
        if (t.dtype() != DType.F32) {
            throw new IllegalArgumentException("the cpu backend computes on F32 tensors, got " + t);
        }
        return t.data();
    }

    private static long[] rowStrides(Tensor t) {
        long[] st = t.strides();
        if (st[3] != 1 && t.dim(3) > 1) {
            throw new IllegalArgumentException("attention reads key and value views whose last dimension is dense, got " + t);
        }
        return st;
    }

    long pairs() {
        return (long) batch * heads;
    }

    /** Element offset of q, out, dq or dOut row i of pair p. */
    long queryRow(long p, int i) {
        return (p * t + i) * hs;
    }

    /** Element offset of key row j of pair p (in k's memory). */
    long keyRow(long p, int j) {
        return (p / heads) * kBatch + (p % heads) * kHead + j * kRow;
    }

    /** Element offset of value row j of pair p (in v's memory). */
    long valueRow(long p, int j) {
        return (p / heads) * vBatch + (p % heads) * vHead + j * vRow;
    }

    /** Query row i sits at key position S − T + i. */
    private int position(int i) {
        return s - t + i;
    }

    /** One past the last visible key of row i (S for a uniform row). */
    int end(long p, int i) {
        return uniform(p, i) ? s : mask.endVisible(position(i), s);
    }

    /** The first visible key of row i (0 for a uniform row). */
    int first(long p, int i) {
        return uniform(p, i) ? 0 : mask.firstVisible(mask.batchRow(p, pairs()), position(i));
    }

    /** Whether row i of pair p sees no key: its probabilities are 1/S everywhere, its scores count as 0. */
    boolean uniform(long p, int i) {
        int end = mask.endVisible(position(i), s);
        return mask.firstVisible(mask.batchRow(p, pairs()), position(i)) >= end;
    }

    /** The dropout factor of probability (p, i, j): 0 or 1/(1 − rate), as {@code dropoutMask} draws it at that flat index. */
    float keep(float rate, float kept, long seed, long p, int i, int j) {
        return DropoutHash.uniform(seed, (p * t + i) * s + j) < rate ? 0f : kept;
    }

    /**
     * hs rounded up to whole vectors and to a multiple of 8 floats ({@link AttentionTiles#laneAccumulate} takes
     * 8 columns at a time): the width of the kernels' row buffers (the padding stays 0).
     */
    int paddedWidth() {
        return Math.max(CpuVectors.VL, ((int) CpuVectors.wholeVectors(hs) + 7) & ~7);
    }
}
