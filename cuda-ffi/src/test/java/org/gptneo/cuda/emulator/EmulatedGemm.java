package org.gptneo.cuda.emulator;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.gptneo.cuda.runtime.GemmCall;
import org.gptneo.tensor.HalfFloats;

/**
 * cublasGemmStridedBatchedEx as its documentation defines it, column-major, one element at a
 * time: for each batch entry, C = alpha·op(A)·op(B) + beta·C with A(i, p) at a[i + p·lda] (or at
 * a[p + i·lda] transposed). Products accumulate in double. TF32 and BF16 precision round each input
 * first, as the tensor cores do. With beta = 0, C is not read (NaN there does not spread).
 */
final class EmulatedGemm {
    private EmulatedGemm() {}

    /** The host view of a device range. */
    interface Memory {
        MemorySegment at(long address, long bytes);
    }

    static void run(GemmCall g, Memory memory) {
        int width = g.inputType() == GemmCall.InputType.F32 ? 4 : 2;
        for (int batch = 0; batch < g.batch(); batch++) {
            long aBase = g.a() + batch * g.strideA() * width, bBase = g.b() + batch * g.strideB() * width;
            long cBase = g.c() + batch * g.strideC() * 4;
            // op(A) is m×k: stored m×k (lda ≥ m) or k×m (lda ≥ k) when transposed.
            MemorySegment a = memory.at(aBase, span(g.transA() ? g.k() : g.m(), g.transA() ? g.m() : g.k(), g.lda()) * width);
            MemorySegment b = memory.at(bBase, span(g.transB() ? g.n() : g.k(), g.transB() ? g.k() : g.n(), g.ldb()) * width);
            MemorySegment c = memory.at(cBase, span(g.m(), g.n(), g.ldc()) * 4);
            for (int j = 0; j < g.n(); j++) {
                for (int i = 0; i < g.m(); i++) {
                    double sum = 0;
                    for (int p = 0; p < g.k(); p++) {
                        long ai = g.transA() ? p + (long) i * g.lda() : i + (long) p * g.lda();
                        long bi = g.transB() ? j + (long) p * g.ldb() : p + (long) j * g.ldb();
                        sum += (double) load(a, ai, g) * load(b, bi, g);
                    }
                    long ci = i + (long) j * g.ldc();
                    float product = (float) (g.alpha() * sum);
                    float result = g.beta() == 0f ? product : product + g.beta() * c.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, ci);
                    c.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, ci, result);
                }
            }
        }
    }

    /** Elements spanned by a column-major rows×cols matrix with leading dimension ld. */
    private static long span(int rows, int cols, int ld) {
        if (rows > ld) {
            throw new IllegalArgumentException("leading dimension " + ld + " is less than the " + rows + " rows");
        }
        return rows == 0 || cols == 0 ? 0 : (long) (cols - 1) * ld + rows;
    }

    private static float load(MemorySegment m, long index, GemmCall g) {
        float v = switch (g.inputType()) {
            case F32 -> m.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, index);
            case BF16 -> HalfFloats.bf16ToFloat(m.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, index));
            case F16 -> HalfFloats.f16ToFloat(m.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, index));
        };
        return switch (g.precision()) {
            case F32 -> v;
            case BF16 -> HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(v));
            case TF32 -> Float.intBitsToFloat((Float.floatToRawIntBits(v) + 0x1000) & 0xFFFFE000);
        };
    }
}
