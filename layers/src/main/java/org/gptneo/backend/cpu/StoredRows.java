package org.gptneo.backend.cpu;

import static jdk.incubator.vector.VectorOperators.B2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.S2I;
import static org.gptneo.backend.cpu.CpuVectors.B_QUARTER;
import static org.gptneo.backend.cpu.CpuVectors.F;
import static org.gptneo.backend.cpu.CpuVectors.I;
import static org.gptneo.backend.cpu.CpuVectors.LE;
import static org.gptneo.backend.cpu.CpuVectors.S_HALF;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.HalfFloats;
import org.gptneo.tensor.Q8Blocks;
import org.gptneo.tensor.Tensor;

/**
 * Read access to a tensor that may be stored in F32, BF16, F16 or Q8 (weights kept in less precision
 * for inference): runs of elements are widened to floats as they are read, exactly (Q8: q·s, as
 * {@link Q8Blocks#get}).
 */
record StoredRows(MemorySegment data, DType dtype) {
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static StoredRows of(Tensor t) {
        if (t.dtype() == DType.I32) {
            throw new IllegalArgumentException("the cpu backend reads F32, BF16, F16 or Q8 operands, got " + t);
        }
        return new StoredRows(t.data(), t.dtype());
    }

    boolean isF32() {
        return dtype == DType.F32;
    }

    /** dst[at .. at+count) = elements [from, from + count) as floats. */
    void read(long from, float[] dst, int at, int count) {
        switch (dtype) {
            case F32 -> MemorySegment.copy(data, FLOAT, from * Float.BYTES, dst, at, count);
            case BF16 -> {
                int i = 0;
                for (int end = CpuVectors.bound(count, CpuVectors.VL); i < end; i += CpuVectors.VL) {
                    IntVector wide = (IntVector) ShortVector.fromMemorySegment(S_HALF, data, (from + i) * Short.BYTES, LE)
                            .convertShape(S2I, I, 0);
                    wide.lanewise(LSHL, 16).reinterpretAsFloats().intoArray(dst, at + i);
                }
                for (; i < count; i++) dst[at + i] = HalfFloats.bf16ToFloat(data.getAtIndex(SHORT, from + i));
            }
            case F16 -> {
                for (int i = 0; i < count; i++) dst[at + i] = HalfFloats.f16ToFloat(data.getAtIndex(SHORT, from + i));
            }
            case Q8 -> readQ8(from, dst, at, count);
            default -> throw new IllegalStateException(dtype.toString());
        }
    }

    /** Q8 elements [from, from + count): runs of whole blocks with vectors, anything else one by one. */
    private void readQ8(long from, float[] dst, int at, int count) {
        boolean vectors = CpuVectors.hasQ8Loads() && Q8Blocks.BLOCK % CpuVectors.VL == 0;
        if (!vectors || from % Q8Blocks.BLOCK != 0 || count % Q8Blocks.BLOCK != 0) {
            for (int i = 0; i < count; i++) dst[at + i] = Q8Blocks.get(data, from + i);
            return;
        }
        long block = Q8Blocks.valueOffset(from); // byte offset of the first block
        for (int i = 0; i < count; i += Q8Blocks.BLOCK, block += Q8Blocks.BLOCK_BYTES) {
            float scale = data.get(FLOAT, block + Q8Blocks.BLOCK);
            for (int v = 0; v < Q8Blocks.BLOCK; v += CpuVectors.VL) {
                FloatVector q = (FloatVector) ByteVector.fromMemorySegment(B_QUARTER, data, block + v, LE).convertShape(B2F, F, 0);
                q.mul(scale).intoArray(dst, at + i + v);
            }
        }
    }
}
