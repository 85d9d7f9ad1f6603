package org.gptneo.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Q8Blocks;
import org.gptneo.tensor.Tensor;

/**
 * Vector species and little-endian element access shared by the CPU kernels. Indices count floats, not bytes.
 * There is no vector load or store here: kernels call {@code FloatVector.fromMemorySegment} and
 * {@code intoMemorySegment} themselves, because a helper that takes or returns a vector is an ordinary call
 * that C2 may decline to inline in a large compilation, and the vector is then allocated on the heap.
 */
final class CpuVectors {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int VL = F.length();
    /** Doubles for long sums, and floats of the same lane count to widen into them. */
    static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    static final VectorSpecies<Float> F_HALF =
            VectorSpecies.of(float.class, VectorShape.forBitSize(D.vectorBitSize() / 2));
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    /**
     * VL shorts (BF16 values on their way to floats) and VL ints. The kernels widen BF16 and Q8 weights
     * with these species in their own loops (BF16: shorts to ints shifted up 16 bits; Q8: bytes to
     * floats, then the block's scale): a helper returning the widened vector is an ordinary call that
     * C2 may decline to inline, and the vector it returns is then allocated on the heap.
     */
    static final VectorSpecies<Short> S_HALF =
            VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    static final VectorSpecies<Long> L = VectorSpecies.of(long.class, D.vectorShape());
    /** VL bytes (Q8 values on their way to floats); null where that is under the smallest vector (128-bit floats). */
    static final VectorSpecies<Byte> B_QUARTER =
            F.vectorBitSize() >= 256 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4)) : null;

    private CpuVectors() {}

    /** The memory of an F32 tensor; a clear error for any other dtype. */
    static MemorySegment f32(Tensor t) {
        if (t.dtype() != DType.F32) {
            throw new IllegalArgumentException("the cpu backend computes on F32 tensors, got " + t);
        }
        if (!t.isContiguous()) {
            throw new IllegalArgumentException("this kernel needs a dense tensor, got " + t + " (copy the view first)");
        }
        return t.data();
    }

    /** Whether Q8 values can be widened a vector at a time ({@link #B_QUARTER} exists): the preferred vectors are 256 bits or more. */
    static boolean hasQ8Loads() {
        return B_QUARTER != null;
    }

    /** The F32 scale of the Q8 block at byte {@code block}. */
    static float scale(MemorySegment s, long block) {
        return s.get(FLOAT, block + Q8Blocks.BLOCK);
    }

    static float get(MemorySegment s, long index) {
        return s.getAtIndex(FLOAT, index);
    }

    static void set(MemorySegment s, long index, float value) {
        s.setAtIndex(FLOAT, index, value);
    }

    /** The largest multiple of {@code step} not above {@code n}: where a vector loop over [0, n) stops. */
    static long bound(long n, int step) {
        return n - n % step;
    }

    static int bound(int n, int step) {
        return n - n % step;
    }

    /** {@code count} rounded up to whole vectors: a piece size for loops that split columns. */
    static long wholeVectors(long count) {
        return Math.ceilDiv(count, VL) * VL;
    }
}
