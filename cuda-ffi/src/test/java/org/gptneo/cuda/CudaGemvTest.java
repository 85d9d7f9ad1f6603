package org.gptneo.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.gptneo.backend.MatmulShape;
import org.gptneo.cuda.emulator.EmulatedRuntime;
import org.gptneo.cuda.runtime.GemmCall;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Which products take the few-row kernels, and the order in which those add (on the emulated runtime). */
class CudaGemvTest {

    private static boolean applies(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor c) {
        return CudaGemv.applies(MatmulShape.of(a, transposeA, b, transposeB, c), a, transposeA, b, transposeB);
    }

    @Test
    void takesUpToEightRowsOfF32TimesATransposedNarrowWeight() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = Tensor.allocate(arena, DType.BF16, 6, 64);               // [N, K]
            for (int m = 1; m <= 8; m++) {
                assertThat(applies(Tensor.allocate(arena, DType.F32, m, 64), false, w, true,
                        Tensor.allocate(arena, DType.F32, m, 6))).as("M = %d", m).isTrue();
            }
            assertThat(applies(Tensor.allocate(arena, DType.F32, 9, 64), false, w, true, Tensor.allocate(arena, DType.F32, 9, 6)))
                    .as("M = 9").isFalse();
            assertThat(applies(Tensor.allocate(arena, DType.F32, 2, 4, 64), false, w, true,
                    Tensor.allocate(arena, DType.F32, 2, 4, 6))).as("x [2, 4, K]").isTrue();
            assertThat(applies(Tensor.allocate(arena, DType.F32, 3, 3, 64), false, w, true,
                    Tensor.allocate(arena, DType.F32, 3, 3, 6))).as("x [3, 3, K]").isFalse();
            assertThat(applies(Tensor.allocate(arena, DType.F32, 2, 64), false, w, true,
                    Tensor.allocate(arena, DType.F32, 3, 2, 6))).as("x shared by a batched C").isFalse();
            assertThat(applies(Tensor.allocate(arena, DType.F32, 64, 2), true, w, true, Tensor.allocate(arena, DType.F32, 2, 6)))
                    .as("x transposed").isFalse();
            assertThat(applies(Tensor.allocate(arena, DType.F32, 2, 6), false, Tensor.allocate(arena, DType.BF16, 6, 64), false,
                    Tensor.allocate(arena, DType.F32, 2, 64))).as("w not transposed").isFalse();
            assertThat(applies(Tensor.allocate(arena, DType.F32, 2, 64), false, Tensor.allocate(arena, DType.F32, 6, 64), true,
                    Tensor.allocate(arena, DType.F32, 2, 6))).as("F32 w").isFalse();
            assertThat(applies(Tensor.allocate(arena, DType.BF16, 2, 64), false, w, true, Tensor.allocate(arena, DType.F32, 2, 6)))
                    .as("BF16 x").isFalse();
            assertThat(applies(Tensor.allocate(arena, DType.F32, 2, 64), false, Tensor.allocate(arena, DType.Q8, 6, 64), true,
                    Tensor.allocate(arena, DType.F32, 2, 6))).as("Q8 w").isTrue();
        }
    }

    /**
     * Every output is the sum its kernel documents, bit for bit: lane l of 32 adds x·w over
     * k = l, l + 32, ... in order, then the lanes add in a tree; the same for every M.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BF16", "F16", "Q8"})
    void sumsInTheDocumentedOrderWhateverTheNumberOfRows(DType dtype) {
        assumeTrue(EmulatedRuntime.unavailableReason() == null, "the kernel emulator needs g++");
        int n = 32, k = dtype == DType.Q8 ? 352 : 333;                                            // Q8 rows are blocks of 32
        SplittableRandom random = new SplittableRandom(dtype.ordinal());
        try (CudaBackend backend = CudaBackend.open(0, EmulatedRuntime::open, GemmCall.Precision.F32);
             Arena arena = Arena.ofConfined()) {
            Tensor w = randomTensor(arena, random, n, k).to(arena, dtype);                           // [N, K]
            Tensor x = randomTensor(arena, random, 8, k);                                               // [8, K]
            Tensor onDevice = backend.upload(w, arena);
            for (int m : new int[] {1, 3, 8}) {
                Tensor xm = Tensor.allocate(arena, DType.F32, m, k);
                xm.data().copyFrom(x.data().asSlice(0, 4L * m * k));
                Tensor c = backend.allocate(arena, DType.F32, m, n);
                backend.matmul(backend.upload(xm, arena), false, onDevice, true, c, 1f, 0f);
                Tensor got = backend.download(c, arena);
                for (int r = 0; r < m; r++) {
                    for (int col = 0; col < n; col++) {
                        assertThat(Float.floatToRawIntBits(got.getFloat((long) r * n + col)))
                                .as("M = %d, y[%d, %d]", m, r, col).isEqualTo(Float.floatToRawIntBits(documentedSum(x, w, r, col, k)));
                    }
                }
            }
        }
    }

    private static float documentedSum(Tensor x, Tensor w, int row, int col, int k) {
        float[] lanes = new float[32];
        for (int lane = 0; lane < 32; lane++) {
            float acc = 0f;
            for (int i = lane; i < k; i += 32) {
                acc += x.getFloat((long) row * k + i) * w.getFloat((long) col * k + i);
            }
            lanes[lane] = acc;
        }
        for (int half = 16; half > 0; half /= 2) {
            for (int lane = 0; lane < half; lane++) {
                lanes[lane] += lanes[lane + half];
            }
        }
        return lanes[0];
    }

    private static Tensor randomTensor(Arena arena, SplittableRandom random, int rows, int cols) {
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextDouble(-1, 1);
        }
        return Tensor.of(arena, values, rows, cols);
    }
}
