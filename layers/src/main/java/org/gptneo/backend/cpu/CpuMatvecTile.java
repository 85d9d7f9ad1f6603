package org.gptneo.backend.cpu;

import static jdk.incubator.vector.VectorOperators.B2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.S2I;
import static org.gptneo.backend.cpu.CpuVectors.B_QUARTER;
import static org.gptneo.backend.cpu.CpuVectors.F;
import static org.gptneo.backend.cpu.CpuVectors.I;
import static org.gptneo.backend.cpu.CpuVectors.LE;
import static org.gptneo.backend.cpu.CpuVectors.S_HALF;
import static org.gptneo.backend.cpu.CpuVectors.VL;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Q8Blocks;

/**
 * Four activation rows against {@link CpuMatvec#ROWS} F32, BF16 or Q8 weight rows read straight from the
 * weights' memory (batched decoding, up to {@link CpuMatvec}'s direct limit): each weight vector is
 * loaded and widened in registers once and used by the four rows, with no separate pass that widens
 * the weights into a buffer first. Each of the sixteen outputs is the chain of
 * {@link CpuMatvecRow} for its (activation row, weight row) pair, bit for bit: a token's result does
 * not depend on the rows it is batched with. The sixteen accumulators are stored and their lanes
 * summed all at once ({@link CpuMatvec#sums}) instead of one by one, 256 scalar additions reading
 * lanes back from memory per tile: the products of a 125M decoding step at batch 8 went from about
 * 50 to 35 ms on one thread. The dtypes, the rows read as slices and the short-group rule are
 * CpuMatvecRow's.
 */
final class CpuMatvecTile {
    private CpuMatvecTile() {}

    /**
     * dots[a·ROWS + r] = Σ_t x[xAt + a·k + t]·W[r][t] for a < 4 and r < count, W[r] the row of k
     * {@code dtype} elements from element e0 + r·stride of {@code w} (dtypes as {@link CpuMatvecRow#applies}).
     */
    static void dots(DType dtype, float[] x, int xAt, MemorySegment w, long e0, long stride, int count, int k,
            float[] dots, float[] lanes) {
        switch (dtype) {
            case F32 -> f32(x, xAt, w, e0, stride, count, k, dots, lanes);
            case BF16 -> bf16(x, xAt, w, e0, stride, count, k, dots, lanes);
            case Q8 -> q8(x, xAt, w, e0, stride, count, k, dots, lanes);
            default -> throw new IllegalStateException("no direct kernel for " + dtype);
        }
    }

    /** F32 weights from element {@code e0}, four rows read side by side. */
    private static void f32(float[] x, int xAt, MemorySegment w, long e0, long stride, int count, int k,
            float[] dots, float[] lanes) {
        long rowBytes = (long) k * Float.BYTES;
        MemorySegment r0 = w.asSlice(e0 * Float.BYTES, rowBytes);
        MemorySegment r1 = w.asSlice((e0 + Math.min(1, count - 1) * stride) * Float.BYTES, rowBytes);
        MemorySegment r2 = w.asSlice((e0 + Math.min(2, count - 1) * stride) * Float.BYTES, rowBytes);
        MemorySegment r3 = w.asSlice((e0 + (count - 1) * stride) * Float.BYTES, rowBytes);
        FloatVector s00 = FloatVector.zero(F), s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00, s12 = s00, s13 = s00,
                s20 = s00, s21 = s00, s22 = s00, s23 = s00, s30 = s00, s31 = s00, s32 = s00, s33 = s00;
        int x1 = xAt + k, x2 = xAt + 2 * k, x3 = xAt + 3 * k;
        int t = 0;
        for (int end = CpuVectors.bound(k, VL); t < end; t += VL) {
            long at = (long) t * Float.BYTES;
            FloatVector w0 = FloatVector.fromMemorySegment(F, r0, at, LE);
            FloatVector w1 = FloatVector.fromMemorySegment(F, r1, at, LE);
            FloatVector w2 = FloatVector.fromMemorySegment(F, r2, at, LE);
            FloatVector w3 = FloatVector.fromMemorySegment(F, r3, at, LE);
            FloatVector xv = FloatVector.fromArray(F, x, xAt + t);
            s00 = w0.fma(xv, s00); s01 = w1.fma(xv, s01); s02 = w2.fma(xv, s02); s03 = w3.fma(xv, s03);
            xv = FloatVector.fromArray(F, x, x1 + t);
            s10 = w0.fma(xv, s10); s11 = w1.fma(xv, s11); s12 = w2.fma(xv, s12); s13 = w3.fma(xv, s13);
            xv = FloatVector.fromArray(F, x, x2 + t);
            s20 = w0.fma(xv, s20); s21 = w1.fma(xv, s21); s22 = w2.fma(xv, s22); s23 = w3.fma(xv, s23);
            xv = FloatVector.fromArray(F, x, x3 + t);
            s30 = w0.fma(xv, s30); s31 = w1.fma(xv, s31); s32 = w2.fma(xv, s32); s33 = w3.fma(xv, s33);
        }
        s00.intoArray(lanes, 0); s01.intoArray(lanes, VL); s02.intoArray(lanes, 2 * VL); s03.intoArray(lanes, 3 * VL);
        s10.intoArray(lanes, 4 * VL); s11.intoArray(lanes, 5 * VL); s12.intoArray(lanes, 6 * VL); s13.intoArray(lanes, 7 * VL);
        s20.intoArray(lanes, 8 * VL); s21.intoArray(lanes, 9 * VL); s22.intoArray(lanes, 10 * VL); s23.intoArray(lanes, 11 * VL);
        s30.intoArray(lanes, 12 * VL); s31.intoArray(lanes, 13 * VL); s32.intoArray(lanes, 14 * VL); s33.intoArray(lanes, 15 * VL);
        CpuMatvec.sums(lanes, dots);
        tails(DType.F32, x, xAt, w, e0, stride, count, t, k, dots);
    }

    /** BF16 weights from element {@code e0}: each vector widened by a shift as it is loaded. */
    private static void bf16(float[] x, int xAt, MemorySegment w, long e0, long stride, int count, int k,
            float[] dots, float[] lanes) {
        long rowBytes = (long) k * Short.BYTES;
        MemorySegment r0 = w.asSlice(e0 * Short.BYTES, rowBytes);
        MemorySegment r1 = w.asSlice((e0 + Math.min(1, count - 1) * stride) * Short.BYTES, rowBytes);
        MemorySegment r2 = w.asSlice((e0 + Math.min(2, count - 1) * stride) * Short.BYTES, rowBytes);
        MemorySegment r3 = w.asSlice((e0 + (count - 1) * stride) * Short.BYTES, rowBytes);
        FloatVector s00 = FloatVector.zero(F), s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00, s12 = s00, s13 = s00,
                s20 = s00, s21 = s00, s22 = s00, s23 = s00, s30 = s00, s31 = s00, s32 = s00, s33 = s00;
        int x1 = xAt + k, x2 = xAt + 2 * k, x3 = xAt + 3 * k;
        int t = 0;
        for (int end = CpuVectors.bound(k, VL); t < end; t += VL) {
            long at = (long) t * Short.BYTES;
            FloatVector w0 = ((IntVector) ShortVector.fromMemorySegment(S_HALF, r0, at, LE)
                    .convertShape(S2I, I, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector w1 = ((IntVector) ShortVector.fromMemorySegment(S_HALF, r1, at, LE)
                    .convertShape(S2I, I, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector w2 = ((IntVector) ShortVector.fromMemorySegment(S_HALF, r2, at, LE)
                    .convertShape(S2I, I, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector w3 = ((IntVector) ShortVector.fromMemorySegment(S_HALF, r3, at, LE)
                    .convertShape(S2I, I, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector xv = FloatVector.fromArray(F, x, xAt + t);
            s00 = w0.fma(xv, s00); s01 = w1.fma(xv, s01); s02 = w2.fma(xv, s02); s03 = w3.fma(xv, s03);
            xv = FloatVector.fromArray(F, x, x1 + t);
            s10 = w0.fma(xv, s10); s11 = w1.fma(xv, s11); s12 = w2.fma(xv, s12); s13 = w3.fma(xv, s13);
            xv = FloatVector.fromArray(F, x, x2 + t);
            s20 = w0.fma(xv, s20); s21 = w1.fma(xv, s21); s22 = w2.fma(xv, s22); s23 = w3.fma(xv, s23);
            xv = FloatVector.fromArray(F, x, x3 + t);
            s30 = w0.fma(xv, s30); s31 = w1.fma(xv, s31); s32 = w2.fma(xv, s32); s33 = w3.fma(xv, s33);
        }
        s00.intoArray(lanes, 0); s01.intoArray(lanes, VL); s02.intoArray(lanes, 2 * VL); s03.intoArray(lanes, 3 * VL);
        s10.intoArray(lanes, 4 * VL); s11.intoArray(lanes, 5 * VL); s12.intoArray(lanes, 6 * VL); s13.intoArray(lanes, 7 * VL);
        s20.intoArray(lanes, 8 * VL); s21.intoArray(lanes, 9 * VL); s22.intoArray(lanes, 10 * VL); s23.intoArray(lanes, 11 * VL);
        s30.intoArray(lanes, 12 * VL); s31.intoArray(lanes, 13 * VL); s32.intoArray(lanes, 14 * VL); s33.intoArray(lanes, 15 * VL);
        CpuMatvec.sums(lanes, dots);
        tails(DType.BF16, x, xAt, w, e0, stride, count, t, k, dots);
    }

    /** Q8 weights from element {@code e0} (rows are whole blocks): q·s per block, then the FMAs. */
    private static void q8(float[] x, int xAt, MemorySegment q8, long e0, long stride, int count, int k,
            float[] dots, float[] lanes) {
        long strideBytes = DType.Q8.bytes(stride), first = Q8Blocks.valueOffset(e0), rowBytes = DType.Q8.bytes(k);
        MemorySegment r0 = q8.asSlice(first, rowBytes), r1 = q8.asSlice(first + Math.min(1, count - 1) * strideBytes, rowBytes);
        MemorySegment r2 = q8.asSlice(first + Math.min(2, count - 1) * strideBytes, rowBytes);
        MemorySegment r3 = q8.asSlice(first + (count - 1) * strideBytes, rowBytes);
        FloatVector s00 = FloatVector.zero(F), s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00, s12 = s00, s13 = s00,
                s20 = s00, s21 = s00, s22 = s00, s23 = s00, s30 = s00, s31 = s00, s32 = s00, s33 = s00;
        int x1 = xAt + k, x2 = xAt + 2 * k, x3 = xAt + 3 * k;
        for (int t = 0, at = 0; t < k; t += Q8Blocks.BLOCK, at += Q8Blocks.BLOCK_BYTES) {
            float scale0 = CpuVectors.scale(r0, at), scale1 = CpuVectors.scale(r1, at);
            float scale2 = CpuVectors.scale(r2, at), scale3 = CpuVectors.scale(r3, at);
            for (int v = 0; v < Q8Blocks.BLOCK; v += VL) {
                FloatVector w0 = ((FloatVector) ByteVector.fromMemorySegment(B_QUARTER, r0, at + v, LE)
                        .convertShape(B2F, F, 0)).mul(scale0);
                FloatVector w1 = ((FloatVector) ByteVector.fromMemorySegment(B_QUARTER, r1, at + v, LE)
                        .convertShape(B2F, F, 0)).mul(scale1);
                FloatVector w2 = ((FloatVector) ByteVector.fromMemorySegment(B_QUARTER, r2, at + v, LE)
                        .convertShape(B2F, F, 0)).mul(scale2);
                FloatVector w3 = ((FloatVector) ByteVector.fromMemorySegment(B_QUARTER, r3, at + v, LE)
                        .convertShape(B2F, F, 0)).mul(scale3);
                FloatVector xv = FloatVector.fromArray(F, x, xAt + t + v);
                s00 = w0.fma(xv, s00); s01 = w1.fma(xv, s01); s02 = w2.fma(xv, s02); s03 = w3.fma(xv, s03);
                xv = FloatVector.fromArray(F, x, x1 + t + v);
                s10 = w0.fma(xv, s10); s11 = w1.fma(xv, s11); s12 = w2.fma(xv, s12); s13 = w3.fma(xv, s13);
                xv = FloatVector.fromArray(F, x, x2 + t + v);
                s20 = w0.fma(xv, s20); s21 = w1.fma(xv, s21); s22 = w2.fma(xv, s22); s23 = w3.fma(xv, s23);
                xv = FloatVector.fromArray(F, x, x3 + t + v);
                s30 = w0.fma(xv, s30); s31 = w1.fma(xv, s31); s32 = w2.fma(xv, s32); s33 = w3.fma(xv, s33);
            }
        }
        s00.intoArray(lanes, 0); s01.intoArray(lanes, VL); s02.intoArray(lanes, 2 * VL); s03.intoArray(lanes, 3 * VL);
        s10.intoArray(lanes, 4 * VL); s11.intoArray(lanes, 5 * VL); s12.intoArray(lanes, 6 * VL); s13.intoArray(lanes, 7 * VL);
        s20.intoArray(lanes, 8 * VL); s21.intoArray(lanes, 9 * VL); s22.intoArray(lanes, 10 * VL); s23.intoArray(lanes, 11 * VL);
        s30.intoArray(lanes, 12 * VL); s31.intoArray(lanes, 13 * VL); s32.intoArray(lanes, 14 * VL); s33.intoArray(lanes, 15 * VL);
        CpuMatvec.sums(lanes, dots);
    }

    /**
     * dots[a·ROWS + r] += the scalar tail from {@code from} of (activation row a, weight row r), F32 or
     * BF16 weights: what the vectors left.
     */
    private static void tails(DType dtype, float[] x, int xAt, MemorySegment w, long e0, long stride, int count, int from, int k,
            float[] dots) {
        for (int a = 0; a < 4; a++) {
            for (int r = 0; r < CpuMatvec.ROWS; r++) {
                long row = e0 + Math.min(r, count - 1) * stride;
                dots[a * CpuMatvec.ROWS + r] += dtype == DType.F32 ? CpuMatvecRow.tailF32(x, xAt + a * k, w, row, from, k)
                        : CpuMatvecRow.tailBF16(x, xAt + a * k, w, row, from, k);
            }
        }
    }
}
