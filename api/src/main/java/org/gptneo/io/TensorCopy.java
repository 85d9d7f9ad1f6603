package org.gptneo.io;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.HalfFloats;
import org.gptneo.tensor.Tensor;

/**
 * Streams raw tensor bytes (F64, F32, F16 or BF16, little- or big-endian) into an off-heap tensor of
 * another dtype, through one bounded staging buffer: never a tensor-sized array on the heap.
 * Narrowing rounds to nearest even (via {@link HalfFloats}; F64 → F16/BF16 rounds through F32).
 */
final class TensorCopy {
    /** Staging buffer size in bytes (a multiple of every element size). */
    static final int CHUNK_BYTES = 1 << 20;

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private TensorCopy() {}

    /** Element size of a floating-point source dtype, or -1 when it is not one. */
    static int floatSize(String dtype) {
        return switch (dtype) {
            case "F64" -> 8;
            case "F32" -> 4;
            case "F16", "BF16" -> 2;
            default -> -1;
        };
    }

    /**
     * Reads {@code target.size()} elements of {@code dtype} from {@code in} into {@code target}.
     *
     * @throws EOFException if the stream ends early
     */
    static void copy(InputStream in, String dtype, boolean bigEndian, Tensor target) throws IOException {
        int es = floatSize(dtype);
        long count = target.size();
        byte[] chunk = new byte[(int) Math.min(CHUNK_BYTES, Math.max(es, count * es))];
        float[] floats = new float[chunk.length / es];
        MemorySegment staging = MemorySegment.ofArray(chunk);
        boolean raw = !bigEndian && dtype.equals(target.dtype().safetensorsName());
        for (long done = 0; done < count; ) {
            int n = (int) Math.min(chunk.length / es, count - done);
            readFully(in, chunk, n * es);
            if (raw) {
                MemorySegment.copy(staging, 0, target.data(), done * es, (long) n * es);
            } else {
                decode(chunk, n, dtype, bigEndian, floats);
                store(floats, n, target, done);
            }
            done += n;
        }
    }

    /** True when two streams of {@code count} elements hold the same values (bit for bit after decoding). */
    static boolean sameValues(InputStream a, String dtypeA, boolean bigEndianA,
                              InputStream b, String dtypeB, boolean bigEndianB, long count) throws IOException {
        int ea = floatSize(dtypeA), eb = floatSize(dtypeB);
        int per = CHUNK_BYTES / 8;
        byte[] ca = new byte[per * ea], cb = new byte[per * eb];
        float[] fa = new float[per], fb = new float[per];
        for (long done = 0; done < count; ) {
            int n = (int) Math.min(per, count - done);
            readFully(a, ca, n * ea);
            readFully(b, cb, n * eb);
            decode(ca, n, dtypeA, bigEndianA, fa);
            decode(cb, n, dtypeB, bigEndianB, fb);
            for (int i = 0; i < n; i++) {
                if (Float.floatToIntBits(fa[i]) != Float.floatToIntBits(fb[i])) return false;
            }
            done += n;
        }
        return true;
    }

    private static void readFully(InputStream in, byte[] buffer, int n) throws IOException {
        int got = in.readNBytes(buffer, 0, n);
        if (got != n) {
            throw new EOFException("the data ends early");
        }
    }

    private static void decode(byte[] b, int n, String dtype, boolean bigEndian, float[] out) {
        switch (dtype) {
            case "F32" -> {
                for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat(int32(b, i * 4, bigEndian));
            }
            case "F64" -> {
                for (int i = 0; i < n; i++) {
                    long bits = (int32(b, i * 8 + (bigEndian ? 4 : 0), bigEndian) & 0xFFFFFFFFL)
                            | (long) int32(b, i * 8 + (bigEndian ? 0 : 4), bigEndian) << 32;
                    out[i] = (float) Double.longBitsToDouble(bits);
                }
            }
            case "F16" -> {
                for (int i = 0; i < n; i++) out[i] = HalfFloats.f16ToFloat(int16(b, i * 2, bigEndian));
            }
            case "BF16" -> {
                for (int i = 0; i < n; i++) out[i] = HalfFloats.bf16ToFloat(int16(b, i * 2, bigEndian));
            }
            default -> throw new IllegalArgumentException("not a floating-point dtype: " + dtype);
        }
    }

    /** target[at .. at + n) = floats, narrowed to the target's dtype (a dense tensor, written in place). */
    private static void store(float[] floats, int n, Tensor target, long at) {
        MemorySegment data = target.data();
        switch (target.dtype()) {
            case F32 -> MemorySegment.copy(floats, 0, data, F32_LE, at * 4, n);
            case BF16 -> {
                for (int i = 0; i < n; i++) data.setAtIndex(I16_LE, at + i, HalfFloats.floatToBf16(floats[i]));
            }
            case F16 -> {
                for (int i = 0; i < n; i++) data.setAtIndex(I16_LE, at + i, HalfFloats.floatToF16(floats[i]));
            }
            default -> {
                for (int i = 0; i < n; i++) target.setFloat(at + i, floats[i]);
            }
        }
    }

    private static int int32(byte[] b, int i, boolean bigEndian) {
        return bigEndian
                ? (b[i] & 0xFF) << 24 | (b[i + 1] & 0xFF) << 16 | (b[i + 2] & 0xFF) << 8 | (b[i + 3] & 0xFF)
                : (b[i + 3] & 0xFF) << 24 | (b[i + 2] & 0xFF) << 16 | (b[i + 1] & 0xFF) << 8 | (b[i] & 0xFF);
    }

    private static short int16(byte[] b, int i, boolean bigEndian) {
        return (short) (bigEndian ? (b[i] & 0xFF) << 8 | (b[i + 1] & 0xFF) : (b[i + 1] & 0xFF) << 8 | (b[i] & 0xFF));
    }
}
