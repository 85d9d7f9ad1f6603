package org.gptneo.backend.cpu;

import static org.gptneo.backend.cpu.CpuVectors.F;
import static org.gptneo.backend.cpu.CpuVectors.FLOAT;
import static org.gptneo.backend.cpu.CpuVectors.LE;
import static org.gptneo.backend.cpu.CpuVectors.VL;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * The loops of the fused attention kernels, over small float arrays that stay in L1: a few rows of
 * width w (hs rounded up to whole vectors, the padding 0, so no loop has a tail) and "lane tiles"
 * whose vectors hold one value per query row of a group of VL rows ([hs][VL] or [keys][VL]: the
 * transposed layout in which a row's softmax is lane-wise vector arithmetic). Each sum runs in a
 * fixed order, so results never depend on threads.
 */
final class AttentionTiles {
    private AttentionTiles() {}

    /**
     * rows[r·w .. r·w + hs) = the memory row at element offset first + r·stride for r &lt; count; the rest
     * of each row, and rows count .. upTo, 0.
     */
    static void load(MemorySegment memory, long first, long stride, int count, int hs, float[] rows, int w, int upTo) {
        if (stride == w && hs == w) {                                   // dense rows, no padding: one copy
            MemorySegment.copy(memory, FLOAT, first * Float.BYTES, rows, 0, count * w);
        } else {
            for (int r = 0; r < count; r++) {
                MemorySegment.copy(memory, FLOAT, (first + r * stride) * Float.BYTES, rows, r * w, hs);
                if (hs < w) Arrays.fill(rows, r * w + hs, (r + 1) * w, 0f);
            }
        }
        Arrays.fill(rows, count * w, upTo * w, 0f);
    }

    /** lanes[d·VL + l] = rows[l·w + d]: a group of VL rows [VL][w] transposed to a lane tile [w][VL]. */
    static void transpose(float[] rows, int w, float[] lanes) {
        for (int l = 0; l < VL; l++) {
            for (int d = 0; d < w; d++) lanes[d * VL + l] = rows[l * w + d];
        }
    }

    /** How many key rows {@link #laneDots} computes for {@code count}: count rounded up to 8. */
    static int paddedKeys(int count) {
        return (count + 7) & ~7;
    }

    /**
     * out[c·VL + l] = Σ_d lanes[d·VL + l]·rows[c·w + d] for c &lt; count (rounded up to 8 by
     * {@link #paddedKeys}; rows past count must be 0): VL dot products per row c, one per lane, with d in
     * order. Eight rows at a time, so eight FMA chains share each load of the lane tile: with four, each
     * FMA waited on the one before it in its chain.
     */
    static void laneDots(float[] lanes, float[] rows, int w, int count, float[] out) {
        for (int c = 0; c < count; c += 8) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            int r0 = c * w, r1 = r0 + w, r2 = r1 + w, r3 = r2 + w, r4 = r3 + w, r5 = r4 + w, r6 = r5 + w, r7 = r6 + w;
            for (int d = 0; d < w; d++) {
                FloatVector x = FloatVector.fromArray(F, lanes, d * VL);
                a0 = x.fma(FloatVector.broadcast(F, rows[r0 + d]), a0);
                a1 = x.fma(FloatVector.broadcast(F, rows[r1 + d]), a1);
                a2 = x.fma(FloatVector.broadcast(F, rows[r2 + d]), a2);
                a3 = x.fma(FloatVector.broadcast(F, rows[r3 + d]), a3);
                a4 = x.fma(FloatVector.broadcast(F, rows[r4 + d]), a4);
                a5 = x.fma(FloatVector.broadcast(F, rows[r5 + d]), a5);
                a6 = x.fma(FloatVector.broadcast(F, rows[r6 + d]), a6);
                a7 = x.fma(FloatVector.broadcast(F, rows[r7 + d]), a7);
            }
            a0.intoArray(out, c * VL);
            a1.intoArray(out, (c + 1) * VL);
            a2.intoArray(out, (c + 2) * VL);
            a3.intoArray(out, (c + 3) * VL);
            a4.intoArray(out, (c + 4) * VL);
            a5.intoArray(out, (c + 5) * VL);
            a6.intoArray(out, (c + 6) * VL);
            a7.intoArray(out, (c + 7) * VL);
        }
    }

    /**
     * lanes[d·VL + l] += Σ_c weights[c·VL + l]·rows[c·w + d] for c &lt; count, in order of c: a lane tile
     * [w][VL] collecting weighted rows (probabilities times values). Eight d at a time (w is a multiple
     * of 8: {@link AttentionGeometry#paddedWidth}), eight FMA chains for each weight loaded.
     */
    static void laneAccumulate(float[] weights, float[] rows, int w, int count, float[] lanes) {
        for (int d = 0; d < w; d += 8) {
            FloatVector a0 = FloatVector.fromArray(F, lanes, d * VL), a1 = FloatVector.fromArray(F, lanes, (d + 1) * VL);
            FloatVector a2 = FloatVector.fromArray(F, lanes, (d + 2) * VL), a3 = FloatVector.fromArray(F, lanes, (d + 3) * VL);
            FloatVector a4 = FloatVector.fromArray(F, lanes, (d + 4) * VL), a5 = FloatVector.fromArray(F, lanes, (d + 5) * VL);
            FloatVector a6 = FloatVector.fromArray(F, lanes, (d + 6) * VL), a7 = FloatVector.fromArray(F, lanes, (d + 7) * VL);
            for (int c = 0, r = d; c < count; c++, r += w) {
                FloatVector p = FloatVector.fromArray(F, weights, c * VL);
                a0 = p.fma(FloatVector.broadcast(F, rows[r]), a0);
                a1 = p.fma(FloatVector.broadcast(F, rows[r + 1]), a1);
                a2 = p.fma(FloatVector.broadcast(F, rows[r + 2]), a2);
                a3 = p.fma(FloatVector.broadcast(F, rows[r + 3]), a3);
                a4 = p.fma(FloatVector.broadcast(F, rows[r + 4]), a4);
                a5 = p.fma(FloatVector.broadcast(F, rows[r + 5]), a5);
                a6 = p.fma(FloatVector.broadcast(F, rows[r + 6]), a6);
                a7 = p.fma(FloatVector.broadcast(F, rows[r + 7]), a7);
            }
            a0.intoArray(lanes, d * VL);
            a1.intoArray(lanes, (d + 1) * VL);
            a2.intoArray(lanes, (d + 2) * VL);
            a3.intoArray(lanes, (d + 3) * VL);
            a4.intoArray(lanes, (d + 4) * VL);
            a5.intoArray(lanes, (d + 5) * VL);
            a6.intoArray(lanes, (d + 6) * VL);
            a7.intoArray(lanes, (d + 7) * VL);
        }
    }

    /**
     * out[m·w ..] (+)= Σ_n a[m·am + n·an]·rows[n·w ..] for m &lt; outRows, n &lt; count, in order of n:
     * a product of a small matrix a (read through strides, so a lane tile serves as a or aᵀ) with rows
     * [count][w]. Overwrites out unless {@code accumulate}.
     */
    static void rowsTimes(float[] a, int am, int an, int outRows, int count, float[] rows, int w, float[] out,
                          boolean accumulate) {
        for (int m = 0; m < outRows; m++) {
            int o = m * w;
            int d = 0;
            for (; d + 4 * VL <= w; d += 4 * VL) {
                FloatVector a0, a1, a2, a3;
                if (accumulate) {
                    a0 = FloatVector.fromArray(F, out, o + d);
                    a1 = FloatVector.fromArray(F, out, o + d + VL);
                    a2 = FloatVector.fromArray(F, out, o + d + 2 * VL);
                    a3 = FloatVector.fromArray(F, out, o + d + 3 * VL);
                } else {
                    a0 = FloatVector.zero(F);
                    a1 = a0; a2 = a0; a3 = a0;
                }
                for (int n = 0, r = d; n < count; n++, r += w) {
                    FloatVector x = FloatVector.broadcast(F, a[m * am + n * an]);
                    a0 = FloatVector.fromArray(F, rows, r).fma(x, a0);
                    a1 = FloatVector.fromArray(F, rows, r + VL).fma(x, a1);
                    a2 = FloatVector.fromArray(F, rows, r + 2 * VL).fma(x, a2);
                    a3 = FloatVector.fromArray(F, rows, r + 3 * VL).fma(x, a3);
                }
                a0.intoArray(out, o + d);
                a1.intoArray(out, o + d + VL);
                a2.intoArray(out, o + d + 2 * VL);
                a3.intoArray(out, o + d + 3 * VL);
            }
            for (; d < w; d += VL) {
                FloatVector a0 = accumulate ? FloatVector.fromArray(F, out, o + d) : FloatVector.zero(F);
                for (int n = 0, r = d; n < count; n++, r += w) {
                    a0 = FloatVector.fromArray(F, rows, r).fma(FloatVector.broadcast(F, a[m * am + n * an]), a0);
                }
                a0.intoArray(out, o + d);
            }
        }
    }

    /** The memory row at element offset first + r·hs += rows[r·w .. r·w + hs) for r &lt; count (a dense gradient). */
    static void addTo(MemorySegment memory, long first, int count, int hs, float[] rows, int w) {
        for (int r = 0; r < count; r++) {
            long o = first + (long) r * hs;
            int d = 0;
            for (int end = CpuVectors.bound(hs, VL); d < end; d += VL) {
                long at = (o + d) * Float.BYTES;
                FloatVector row = FloatVector.fromArray(F, rows, r * w + d);
                FloatVector.fromMemorySegment(F, memory, at, LE).add(row).intoMemorySegment(memory, at, LE);
            }
            for (; d < hs; d++) CpuVectors.set(memory, o + d, CpuVectors.get(memory, o + d) + rows[r * w + d]);
        }
    }

    /**
     * out[c] = Σ_d x[d]·rows[c·w + d] for c &lt; count (rounded up to 4; rows past count must be 0): one
     * query row's scores, four keys at a time, each a vector of partial sums whose lanes are then added
     * in order ({@code lanes}: 4·VL floats of scratch).
     */
    static void rowDots(float[] x, float[] rows, int w, int count, float[] out, float[] lanes) {
        for (int c = 0; c < count; c += 4) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            int r0 = c * w, r1 = r0 + w, r2 = r1 + w, r3 = r2 + w;
            for (int d = 0; d < w; d += VL) {
                FloatVector xv = FloatVector.fromArray(F, x, d);
                a0 = FloatVector.fromArray(F, rows, r0 + d).fma(xv, a0);
                a1 = FloatVector.fromArray(F, rows, r1 + d).fma(xv, a1);
                a2 = FloatVector.fromArray(F, rows, r2 + d).fma(xv, a2);
                a3 = FloatVector.fromArray(F, rows, r3 + d).fma(xv, a3);
            }
            out[c] = laneSum(a0, lanes, 0);
            out[c + 1] = laneSum(a1, lanes, 1);
            out[c + 2] = laneSum(a2, lanes, 2);
            out[c + 3] = laneSum(a3, lanes, 3);
        }
    }

    /** Σ of v's lanes in lane order (as {@link Lanes#sum}), through slot {@code slot} of a reused array. */
    static float laneSum(FloatVector v, float[] lanes, int slot) {
        int at = slot * VL;
        v.intoArray(lanes, at);
        float total = 0f;
        for (int l = 0; l < VL; l++) total += lanes[at + l];
        return total;
    }
}
