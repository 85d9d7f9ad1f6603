package org.gptneo.backend.cpu;

import static jdk.incubator.vector.VectorOperators.B2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.S2I;
import static org.gptneo.backend.cpu.CpuMatvec.ROWS;
import static org.gptneo.backend.cpu.CpuVectors.B_QUARTER;
import static org.gptneo.backend.cpu.CpuVectors.F;
import static org.gptneo.backend.cpu.CpuVectors.I;
import static org.gptneo.backend.cpu.CpuVectors.LE;
import static org.gptneo.backend.cpu.CpuVectors.SHORT;
import static org.gptneo.backend.cpu.CpuVectors.S_HALF;
import static org.gptneo.backend.cpu.CpuVectors.VL;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.HalfFloats;
import org.gptneo.tensor.Q8Blocks;

/**
 * One activation row against {@link CpuMatvec#ROWS} F32, BF16 or Q8 weight rows read straight from the
 * weights' memory, BF16 and Q8 widened to floats in registers: batch-1 decoding uses each weight once,
 * so copying or widening it into a buffer first would cost a store and a load per weight (F32 through
 * the buffer streamed at about half the speed: 14 against 30 GB/s on one core). Weights straddling
 * cache lines read about a sixth slower, so {@code SafeTensorsWriter} starts its data on a cache line,
 * and mapped weights reach here as plain segments ({@code PlainSegments}). Each output is one FMA chain over
 * the row's whole vectors (weights widened exactly: BF16 by a shift, Q8 as q·s, as
 * {@link StoredRows#read}), its lanes summed in lane order, plus the scalar tail; {@link CpuMatvecTile}
 * computes the same chains four activation rows at a time, so a token's result does not depend on
 * the batch it is in.
 *
 * <p>Each weight row is read at its byte offset in the whole weight, not through a slice of its own
 * as {@link CpuMatvecTile} does: in `bench decode` processes C2 often declined to inline the inner
 * {@code asSlice} ("low call site frequency"), and the four slices of every call were allocated, 6.5 MB
 * of heap a token with F32 weights (docs/performance.md, "Batch-1 rows without slices"); the products
 * of a step ran at the same speed either way in one process.
 *
 * <p>A group of fewer than ROWS rows repeats its last row (those dot products are not stored), so
 * the loops have no per-row branches. Each dtype has its own copy of the loop, differing only in how
 * a weight vector is loaded: one loop over a load function would make that a call with three
 * targets per vector, which C2 does not inline, and a vector returned from a call is boxed.
 */
final class CpuMatvecRow {
    private CpuMatvecRow() {}

    /** Whether {@link #dots} reads weights of this dtype straight from memory. */
    static boolean applies(DType dtype) {
        return switch (dtype) {
            case F32, BF16 -> true;
            case Q8 -> CpuVectors.hasQ8Loads() && Q8Blocks.BLOCK % VL == 0;
            default -> false;
        };
    }

    /**
     * The dot products of the groups [g0, g0 + run) of {@code rows} weight rows taken as
     * {@link CpuMatvec#groups}: dots[(g - g0)·ROWS + i] = Σ_t x[xAt + t]·W[g + i·G][t] for the
     * {@link CpuMatvec#count} rows i of group g, W [rows, k] the rows of {@code dtype} from element
     * {@code e0} of {@code w} (Q8: e0 a multiple of k, rows whole blocks); 1 ≤ run ≤ 4. Each group's
     * accumulators are stored side by side in {@code lanes} and all of them summed at once
     * ({@link CpuMatvec#sums}).
     */
    static void dots(DType dtype, float[] x, int xAt, MemorySegment w, long e0, int rows, int g0, int run, int k,
            float[] dots, float[] lanes) {
        int groups = CpuMatvec.groups(rows);
        long stride = (long) groups * k;
        for (int g = g0; g < g0 + run; g++) {
            long first = e0 + (long) g * k;
            int count = CpuMatvec.count(rows, g), slot = (g - g0) * ROWS * VL;
            switch (dtype) {
                case F32 -> f32(x, xAt, w, first, stride, count, k, lanes, slot);
                case BF16 -> bf16(x, xAt, w, first, stride, count, k, lanes, slot);
                case Q8 -> q8(x, xAt, w, first, stride, count, k, lanes, slot);
                default -> throw new IllegalStateException("no direct kernel for " + dtype);
            }
        }
        CpuMatvec.sums(lanes, dots);
        int whole = CpuVectors.bound(k, VL);
        if (whole < k && dtype != DType.Q8) {                // the scalar tail past the whole vectors
            for (int g = g0; g < g0 + run; g++) {
                for (int i = 0, count = CpuMatvec.count(rows, g); i < count; i++) {
                    long row = e0 + (long) g * k + i * stride;
                    dots[(g - g0) * ROWS + i] += dtype == DType.F32 ? tailF32(x, xAt, w, row, whole, k)
                            : tailBF16(x, xAt, w, row, whole, k);
                }
            }
        }
    }

    /** F32 weights, rows from elements e0 + i·stride read side by side; the accumulators go to lanes[slot + r·VL]. */
    private static void f32(float[] x, int xAt, MemorySegment w, long e0, long stride, int count, int k, float[] lanes, int slot) {
        long r0 = e0 * Float.BYTES;
        long r1 = (e0 + Math.min(1, count - 1) * stride) * Float.BYTES;
        long r2 = (e0 + Math.min(2, count - 1) * stride) * Float.BYTES;
        long r3 = (e0 + (count - 1) * stride) * Float.BYTES;
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        for (int t = 0, end = CpuVectors.bound(k, VL); t < end; t += VL) {
            long at = (long) t * Float.BYTES;
            FloatVector xv = FloatVector.fromArray(F, x, xAt + t);
            s0 = FloatVector.fromMemorySegment(F, w, r0 + at, LE).fma(xv, s0);
            s1 = FloatVector.fromMemorySegment(F, w, r1 + at, LE).fma(xv, s1);
            s2 = FloatVector.fromMemorySegment(F, w, r2 + at, LE).fma(xv, s2);
            s3 = FloatVector.fromMemorySegment(F, w, r3 + at, LE).fma(xv, s3);
        }
        s0.intoArray(lanes, slot);
        s1.intoArray(lanes, slot + VL);
        s2.intoArray(lanes, slot + 2 * VL);
        s3.intoArray(lanes, slot + 3 * VL);
    }

    /** BF16 weights from element {@code e0}: each vector widened by a shift as it is loaded. */
    private static void bf16(float[] x, int xAt, MemorySegment w, long e0, long stride, int count, int k, float[] lanes, int slot) {
        long r0 = e0 * Short.BYTES;
        long r1 = (e0 + Math.min(1, count - 1) * stride) * Short.BYTES;
        long r2 = (e0 + Math.min(2, count - 1) * stride) * Short.BYTES;
        long r3 = (e0 + (count - 1) * stride) * Short.BYTES;
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        for (int t = 0, end = CpuVectors.bound(k, VL); t < end; t += VL) {
            long at = (long) t * Short.BYTES;
            FloatVector xv = FloatVector.fromArray(F, x, xAt + t);
            IntVector h0 = (IntVector) ShortVector.fromMemorySegment(S_HALF, w, r0 + at, LE).convertShape(S2I, I, 0);
            s0 = h0.lanewise(LSHL, 16).reinterpretAsFloats().fma(xv, s0);
            IntVector h1 = (IntVector) ShortVector.fromMemorySegment(S_HALF, w, r1 + at, LE).convertShape(S2I, I, 0);
            s1 = h1.lanewise(LSHL, 16).reinterpretAsFloats().fma(xv, s1);
            IntVector h2 = (IntVector) ShortVector.fromMemorySegment(S_HALF, w, r2 + at, LE).convertShape(S2I, I, 0);
            s2 = h2.lanewise(LSHL, 16).reinterpretAsFloats().fma(xv, s2);
            IntVector h3 = (IntVector) ShortVector.fromMemorySegment(S_HALF, w, r3 + at, LE).convertShape(S2I, I, 0);
            s3 = h3.lanewise(LSHL, 16).reinterpretAsFloats().fma(xv, s3);
        }
        s0.intoArray(lanes, slot);
        s1.intoArray(lanes, slot + VL);
        s2.intoArray(lanes, slot + 2 * VL);
        s3.intoArray(lanes, slot + 3 * VL);
    }

    /** Q8 weights from element {@code e0} (rows are whole blocks): q·s per block, then the FMA. */
    private static void q8(float[] x, int xAt, MemorySegment q8, long e0, long stride, int count, int k, float[] lanes, int slot) {
        long strideBytes = DType.Q8.bytes(stride), first = Q8Blocks.valueOffset(e0);
        long r0 = first, r1 = first + Math.min(1, count - 1) * strideBytes;
        long r2 = first + Math.min(2, count - 1) * strideBytes;
        long r3 = first + (count - 1) * strideBytes;
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        for (int t = 0, at = 0; t < k; t += Q8Blocks.BLOCK, at += Q8Blocks.BLOCK_BYTES) {
            float scale0 = CpuVectors.scale(q8, r0 + at), scale1 = CpuVectors.scale(q8, r1 + at);
            float scale2 = CpuVectors.scale(q8, r2 + at), scale3 = CpuVectors.scale(q8, r3 + at);
            for (int v = 0; v < Q8Blocks.BLOCK; v += VL) {
                FloatVector xv = FloatVector.fromArray(F, x, xAt + t + v);
                FloatVector q0 = (FloatVector) ByteVector.fromMemorySegment(B_QUARTER, q8, r0 + at + v, LE).convertShape(B2F, F, 0);
                s0 = q0.mul(scale0).fma(xv, s0);
                FloatVector q1 = (FloatVector) ByteVector.fromMemorySegment(B_QUARTER, q8, r1 + at + v, LE).convertShape(B2F, F, 0);
                s1 = q1.mul(scale1).fma(xv, s1);
                FloatVector q2 = (FloatVector) ByteVector.fromMemorySegment(B_QUARTER, q8, r2 + at + v, LE).convertShape(B2F, F, 0);
                s2 = q2.mul(scale2).fma(xv, s2);
                FloatVector q3 = (FloatVector) ByteVector.fromMemorySegment(B_QUARTER, q8, r3 + at + v, LE).convertShape(B2F, F, 0);
                s3 = q3.mul(scale3).fma(xv, s3);
            }
        }
        s0.intoArray(lanes, slot);
        s1.intoArray(lanes, slot + VL);
        s2.intoArray(lanes, slot + 2 * VL);
        s3.intoArray(lanes, slot + 3 * VL);
    }

    /** As {@link #tailBF16} for an F32 row (also {@link CpuMatvecTile}'s). */
    static float tailF32(float[] x, int xAt, MemorySegment w, long row, int from, int k) {
        float sum = 0f;
        for (int t = from; t < k; t++) sum += x[xAt + t] * w.getAtIndex(CpuVectors.FLOAT, row + t);
        return sum;
    }

    /**
     * Σ x[xAt + t]·W[t] for from ≤ t < k, W the BF16 row from element {@code row}: what a vector loop
     * over the row left (also {@link CpuMatvecTile}'s).
     */
    static float tailBF16(float[] x, int xAt, MemorySegment w, long row, int from, int k) {
        float sum = 0f;
        for (int t = from; t < k; t++) sum += x[xAt + t] * HalfFloats.bf16ToFloat(w.getAtIndex(SHORT, row + t));
        return sum;
    }
}
