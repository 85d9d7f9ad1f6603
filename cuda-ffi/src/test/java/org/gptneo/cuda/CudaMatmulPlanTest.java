package org.gptneo.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.Arrays;
import org.gptneo.backend.MatmulShape;
import org.gptneo.cuda.runtime.GemmCall;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The row-major recipes of the linear layers as cuBLAS calls (spec cuda-ffm.md §8), argument by
 * argument; the conformance kit checks the numbers of every other shape through the emulator.
 */
class CudaMatmulPlanTest {
    private static final int M = 6, N = 5, K = 4;
    private static final long X = 0x1000, W = 0x2000, Y = 0x3000;

    @Test
    void forwardIsTransposedWeightsTimesActivations() {   // Y [M, N] = X [M, K] · Wᵀ, W [N, K]
        GemmCall g = plan(new int[] {M, K}, false, new int[] {N, K}, true, new int[] {M, N});
        assertThat(g).isEqualTo(new GemmCall(true, false, N, M, K, 1f, W, K, 0, X, K, 0, 0f, Y, N, (long) M * N, 1,
                GemmCall.InputType.F32, GemmCall.Precision.F32));
    }

    @Test
    void inputGradientIsWeightsTimesOutputGradient() {   // dX [M, K] = dY [M, N] · W [N, K]
        GemmCall g = plan(new int[] {M, N}, false, new int[] {N, K}, false, new int[] {M, K});
        assertThat(Arrays.asList(g.transA(), g.transB(), g.m(), g.n(), g.k(), g.lda(), g.ldb(), g.ldc()))
                .containsExactly(false, false, K, M, N, K, N, K);
    }

    @Test
    void weightGradientIsActivationsTimesTransposedOutputGradient() {   // dW [N, K] = dYᵀ [N, M] · X [M, K]
        GemmCall g = plan(new int[] {M, N}, true, new int[] {M, K}, false, new int[] {N, K});
        assertThat(Arrays.asList(g.transA(), g.transB(), g.m(), g.n(), g.k(), g.lda(), g.ldb(), g.ldc()))
                .containsExactly(false, true, K, N, M, K, N, K);
    }

    @Test
    void aSharedWeightHasBatchStrideZero() {   // [2, 3, M, K] · Wᵀ
        GemmCall g = plan(new int[] {2, 3, M, K}, false, new int[] {N, K}, true, new int[] {2, 3, M, N});
        assertThat(Arrays.asList(g.batch(), g.strideA(), g.strideB(), g.strideC())).containsExactly(6, 0L, (long) M * K, (long) M * N);
    }

    private static GemmCall plan(int[] a, boolean ta, int[] b, boolean tb, int[] c) {
        try (Arena arena = Arena.ofConfined()) {
            MatmulShape shape = MatmulShape.of(Tensor.allocate(arena, DType.F32, a), ta, Tensor.allocate(arena, DType.F32, b), tb,
                    Tensor.allocate(arena, DType.F32, c));
            return CudaMatmul.plan(shape, X, ta, W, tb, Y, 1f, 0f, GemmCall.Precision.F32);
        }
    }
}
