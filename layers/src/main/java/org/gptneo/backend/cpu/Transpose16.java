package org.gptneo.backend.cpu;

import static org.gptneo.backend.cpu.CpuVectors.F;
import static org.gptneo.backend.cpu.CpuVectors.LE;
import static org.gptneo.backend.cpu.CpuVectors.VL;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * 16 × 16 float transposes in registers, for the two places where 16 vectors have to be read across:
 * <ul>
 *   <li>{@link #panel}: 2·16 rows of a row-major F32 matrix into the depth-major micro-panel
 *       {@link CpuMatmul} wants for op(B) = Bᵀ (the weight of the forward {@code x·Wᵀ}),
 *       panel[d][j] = B[j][d], loaded straight from memory: no staging copy, no gather. About 0.20 ns
 *       per element against 0.42 for staging and gathering (one core, a 768 × 768 matrix,
 *       32-column panels of 384 depths);</li>
 *   <li>{@link #laneSums}: the lane sums of 16 accumulators at once ({@link CpuMatvecTile}'s four
 *       activation rows × four weight rows, or {@link CpuMatvecRow}'s one row × sixteen weight rows):
 *       transposed, lane l of every accumulator sits in vector l, and adding the 16 vectors in
 *       order sums each accumulator's lanes in lane order, as {@link Lanes#sum} does one vector at
 *       a time, bit for bit; 15 vector additions instead of 256 scalar ones reading lanes back
 *       from memory.</li>
 * </ul>
 * The transpose swaps blocks of 8, 4, 2 and 1 lanes between row pairs with two-vector permutes: at
 * block size s, rows i and i + s (i without bit s) become {i's first s lanes, (i + s)'s first s, ...}
 * and {i's second s, (i + s)'s second s, ...}; after the four steps row i holds column i. Each method
 * spells the network out: vectors leave a method only boxed. Written for 16 float lanes (512-bit
 * vectors), where each permute is one instruction; {@link #applies()} says whether this machine's
 * vectors are that wide (elsewhere the callers keep their general paths).
 */
final class Transpose16 {
    private static final int LANES = 16;
    private static final int PANEL = 2 * LANES;
    /** Permute indices into (first, second) for each block size 8, 4, 2, 1: the lower and the upper result. */
    private static final FloatVector LO8 = lower(8), HI8 = upper(8), LO4 = lower(4), HI4 = upper(4),
            LO2 = lower(2), HI2 = upper(2), LO1 = lower(1), HI1 = upper(1);

    private Transpose16() {}

    /** Whether the vectors have 16 float lanes (the only width this transposes). */
    static boolean applies() {
        return VL == LANES;
    }

    /** Lane l: first[l] where l has no bit s, else second[l − s] (indices ≥ VL pick from the second operand). */
    private static FloatVector lower(int s) {
        float[] index = new float[VL];
        for (int l = 0; l < VL; l++) index[l] = (l & s) == 0 ? l : VL + l - s;
        return FloatVector.fromArray(F, index, 0);
    }

    /** Lane l: first[l + s] where l has no bit s, else second[l]. */
    private static FloatVector upper(int s) {
        float[] index = new float[VL];
        for (int l = 0; l < VL; l++) index[l] = (l & s) == 0 ? l + s : VL + l;
        return FloatVector.fromArray(F, index, 0);
    }

    /**
     * panel[at + d·32 + j] = B[e0 + j·ld + d] for j < 32 and d < depths: 32 rows of B (row stride
     * {@code ld} elements) from element {@code e0}, {@code depths} a multiple of 16.
     */
    static void panel(MemorySegment b, long e0, int ld, int depths, float[] panel, int at) {
        for (int half = 0; half < PANEL; half += LANES) {
            for (int d = 0; d < depths; d += LANES) {
                block(b, e0 + (long) half * ld + d, ld, panel, at + d * PANEL + half);
            }
        }
    }

    /** panel[at + i·32 + j] = B[e + j·ld + i] for i, j < 16. */
    private static void block(MemorySegment b, long e, int ld, float[] panel, int at) {
        long first = e * Float.BYTES, step = (long) ld * Float.BYTES;                 // B[e + r·ld, 16 floats) is row r
        FloatVector r0 = FloatVector.fromMemorySegment(F, b, first + 0 * step, LE), r1 = FloatVector.fromMemorySegment(F, b, first + 1 * step, LE);
        FloatVector r2 = FloatVector.fromMemorySegment(F, b, first + 2 * step, LE), r3 = FloatVector.fromMemorySegment(F, b, first + 3 * step, LE);
        FloatVector r4 = FloatVector.fromMemorySegment(F, b, first + 4 * step, LE), r5 = FloatVector.fromMemorySegment(F, b, first + 5 * step, LE);
        FloatVector r6 = FloatVector.fromMemorySegment(F, b, first + 6 * step, LE), r7 = FloatVector.fromMemorySegment(F, b, first + 7 * step, LE);
        FloatVector r8 = FloatVector.fromMemorySegment(F, b, first + 8 * step, LE), r9 = FloatVector.fromMemorySegment(F, b, first + 9 * step, LE);
        FloatVector r10 = FloatVector.fromMemorySegment(F, b, first + 10 * step, LE), r11 = FloatVector.fromMemorySegment(F, b, first + 11 * step, LE);
        FloatVector r12 = FloatVector.fromMemorySegment(F, b, first + 12 * step, LE), r13 = FloatVector.fromMemorySegment(F, b, first + 13 * step, LE);
        FloatVector r14 = FloatVector.fromMemorySegment(F, b, first + 14 * step, LE), r15 = FloatVector.fromMemorySegment(F, b, first + 15 * step, LE);
        // blocks of 8: rows (i, i + 8)
        FloatVector s0 = LO8.selectFrom(r0, r8), s8 = HI8.selectFrom(r0, r8), s1 = LO8.selectFrom(r1, r9), s9 = HI8.selectFrom(r1, r9);
        FloatVector s2 = LO8.selectFrom(r2, r10), s10 = HI8.selectFrom(r2, r10), s3 = LO8.selectFrom(r3, r11), s11 = HI8.selectFrom(r3, r11);
        FloatVector s4 = LO8.selectFrom(r4, r12), s12 = HI8.selectFrom(r4, r12), s5 = LO8.selectFrom(r5, r13), s13 = HI8.selectFrom(r5, r13);
        FloatVector s6 = LO8.selectFrom(r6, r14), s14 = HI8.selectFrom(r6, r14), s7 = LO8.selectFrom(r7, r15), s15 = HI8.selectFrom(r7, r15);
        // blocks of 4: rows (i, i + 4)
        FloatVector t0 = LO4.selectFrom(s0, s4), t4 = HI4.selectFrom(s0, s4), t1 = LO4.selectFrom(s1, s5), t5 = HI4.selectFrom(s1, s5);
        FloatVector t2 = LO4.selectFrom(s2, s6), t6 = HI4.selectFrom(s2, s6), t3 = LO4.selectFrom(s3, s7), t7 = HI4.selectFrom(s3, s7);
        FloatVector t8 = LO4.selectFrom(s8, s12), t12 = HI4.selectFrom(s8, s12), t9 = LO4.selectFrom(s9, s13), t13 = HI4.selectFrom(s9, s13);
        FloatVector t10 = LO4.selectFrom(s10, s14), t14 = HI4.selectFrom(s10, s14), t11 = LO4.selectFrom(s11, s15), t15 = HI4.selectFrom(s11, s15);
        // blocks of 2: rows (i, i + 2)
        FloatVector u0 = LO2.selectFrom(t0, t2), u2 = HI2.selectFrom(t0, t2), u1 = LO2.selectFrom(t1, t3), u3 = HI2.selectFrom(t1, t3);
        FloatVector u4 = LO2.selectFrom(t4, t6), u6 = HI2.selectFrom(t4, t6), u5 = LO2.selectFrom(t5, t7), u7 = HI2.selectFrom(t5, t7);
        FloatVector u8 = LO2.selectFrom(t8, t10), u10 = HI2.selectFrom(t8, t10), u9 = LO2.selectFrom(t9, t11), u11 = HI2.selectFrom(t9, t11);
        FloatVector u12 = LO2.selectFrom(t12, t14), u14 = HI2.selectFrom(t12, t14), u13 = LO2.selectFrom(t13, t15), u15 = HI2.selectFrom(t13, t15);
        // blocks of 1: rows (i, i + 1); row i is now column i of the block
        LO1.selectFrom(u0, u1).intoArray(panel, at);
        HI1.selectFrom(u0, u1).intoArray(panel, at + PANEL);
        LO1.selectFrom(u2, u3).intoArray(panel, at + 2 * PANEL);
        HI1.selectFrom(u2, u3).intoArray(panel, at + 3 * PANEL);
        LO1.selectFrom(u4, u5).intoArray(panel, at + 4 * PANEL);
        HI1.selectFrom(u4, u5).intoArray(panel, at + 5 * PANEL);
        LO1.selectFrom(u6, u7).intoArray(panel, at + 6 * PANEL);
        HI1.selectFrom(u6, u7).intoArray(panel, at + 7 * PANEL);
        LO1.selectFrom(u8, u9).intoArray(panel, at + 8 * PANEL);
        HI1.selectFrom(u8, u9).intoArray(panel, at + 9 * PANEL);
        LO1.selectFrom(u10, u11).intoArray(panel, at + 10 * PANEL);
        HI1.selectFrom(u10, u11).intoArray(panel, at + 11 * PANEL);
        LO1.selectFrom(u12, u13).intoArray(panel, at + 12 * PANEL);
        HI1.selectFrom(u12, u13).intoArray(panel, at + 13 * PANEL);
        LO1.selectFrom(u14, u15).intoArray(panel, at + 14 * PANEL);
        HI1.selectFrom(u14, u15).intoArray(panel, at + 15 * PANEL);
    }

    /**
     * dots[a] = Σ_l lanes[a·16 + l] for a < 16, each sum taken in lane order from 0 (the bits of
     * {@link Lanes#sum}): 16 accumulators stored one after another, summed together.
     */
    static void laneSums(float[] lanes, float[] dots) {
        FloatVector r0 = FloatVector.fromArray(F, lanes, 0 * LANES), r1 = FloatVector.fromArray(F, lanes, 1 * LANES);
        FloatVector r2 = FloatVector.fromArray(F, lanes, 2 * LANES), r3 = FloatVector.fromArray(F, lanes, 3 * LANES);
        FloatVector r4 = FloatVector.fromArray(F, lanes, 4 * LANES), r5 = FloatVector.fromArray(F, lanes, 5 * LANES);
        FloatVector r6 = FloatVector.fromArray(F, lanes, 6 * LANES), r7 = FloatVector.fromArray(F, lanes, 7 * LANES);
        FloatVector r8 = FloatVector.fromArray(F, lanes, 8 * LANES), r9 = FloatVector.fromArray(F, lanes, 9 * LANES);
        FloatVector r10 = FloatVector.fromArray(F, lanes, 10 * LANES), r11 = FloatVector.fromArray(F, lanes, 11 * LANES);
        FloatVector r12 = FloatVector.fromArray(F, lanes, 12 * LANES), r13 = FloatVector.fromArray(F, lanes, 13 * LANES);
        FloatVector r14 = FloatVector.fromArray(F, lanes, 14 * LANES), r15 = FloatVector.fromArray(F, lanes, 15 * LANES);
        // the network of block(), its last step added up instead of stored
        FloatVector s0 = LO8.selectFrom(r0, r8), s8 = HI8.selectFrom(r0, r8), s1 = LO8.selectFrom(r1, r9), s9 = HI8.selectFrom(r1, r9);
        FloatVector s2 = LO8.selectFrom(r2, r10), s10 = HI8.selectFrom(r2, r10), s3 = LO8.selectFrom(r3, r11), s11 = HI8.selectFrom(r3, r11);
        FloatVector s4 = LO8.selectFrom(r4, r12), s12 = HI8.selectFrom(r4, r12), s5 = LO8.selectFrom(r5, r13), s13 = HI8.selectFrom(r5, r13);
        FloatVector s6 = LO8.selectFrom(r6, r14), s14 = HI8.selectFrom(r6, r14), s7 = LO8.selectFrom(r7, r15), s15 = HI8.selectFrom(r7, r15);
        FloatVector t0 = LO4.selectFrom(s0, s4), t4 = HI4.selectFrom(s0, s4), t1 = LO4.selectFrom(s1, s5), t5 = HI4.selectFrom(s1, s5);
        FloatVector t2 = LO4.selectFrom(s2, s6), t6 = HI4.selectFrom(s2, s6), t3 = LO4.selectFrom(s3, s7), t7 = HI4.selectFrom(s3, s7);
        FloatVector t8 = LO4.selectFrom(s8, s12), t12 = HI4.selectFrom(s8, s12), t9 = LO4.selectFrom(s9, s13), t13 = HI4.selectFrom(s9, s13);
        FloatVector t10 = LO4.selectFrom(s10, s14), t14 = HI4.selectFrom(s10, s14), t11 = LO4.selectFrom(s11, s15), t15 = HI4.selectFrom(s11, s15);
        FloatVector u0 = LO2.selectFrom(t0, t2), u2 = HI2.selectFrom(t0, t2), u1 = LO2.selectFrom(t1, t3), u3 = HI2.selectFrom(t1, t3);
        FloatVector u4 = LO2.selectFrom(t4, t6), u6 = HI2.selectFrom(t4, t6), u5 = LO2.selectFrom(t5, t7), u7 = HI2.selectFrom(t5, t7);
        FloatVector u8 = LO2.selectFrom(t8, t10), u10 = HI2.selectFrom(t8, t10), u9 = LO2.selectFrom(t9, t11), u11 = HI2.selectFrom(t9, t11);
        FloatVector u12 = LO2.selectFrom(t12, t14), u14 = HI2.selectFrom(t12, t14), u13 = LO2.selectFrom(t13, t15), u15 = HI2.selectFrom(t13, t15);
        FloatVector total = FloatVector.zero(F)                           // lane a: 0 + acc a's lane 0 + lane 1 + ...
                .add(LO1.selectFrom(u0, u1)).add(HI1.selectFrom(u0, u1)).add(LO1.selectFrom(u2, u3)).add(HI1.selectFrom(u2, u3))
                .add(LO1.selectFrom(u4, u5)).add(HI1.selectFrom(u4, u5)).add(LO1.selectFrom(u6, u7)).add(HI1.selectFrom(u6, u7))
                .add(LO1.selectFrom(u8, u9)).add(HI1.selectFrom(u8, u9)).add(LO1.selectFrom(u10, u11)).add(HI1.selectFrom(u10, u11))
                .add(LO1.selectFrom(u12, u13)).add(HI1.selectFrom(u12, u13)).add(LO1.selectFrom(u14, u15)).add(HI1.selectFrom(u14, u15));
        total.intoArray(dots, 0);
    }
}
