package org.gptneo.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.HalfFloats;
import org.gptneo.tensor.Tensor;

/**
 * Read access to a tensor that may be stored in F32, BF16 or F16 (weights kept in half precision for
 * inference): runs of elements are widened to floats as they are read, exactly.
 */
record StoredRows(MemorySegment data, DType dtype) {
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static StoredRows of(Tensor t) {
        if (t.dtype() != DType.F32 && t.dtype() != DType.BF16 && t.dtype() != DType.F16) {
            throw new IllegalArgumentException("the cpu backend reads F32, BF16 or F16 operands, got " + t);
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
                    CpuVectors.loadBF16(data, from + i).intoArray(dst, at + i);
                }
                for (; i < count; i++) dst[at + i] = HalfFloats.bf16ToFloat(data.getAtIndex(SHORT, from + i));
            }
            case F16 -> {
                for (int i = 0; i < count; i++) dst[at + i] = HalfFloats.f16ToFloat(data.getAtIndex(SHORT, from + i));
            }
            default -> throw new IllegalStateException(dtype.toString());
        }
    }
}
