package org.gptneo.nn;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.Random;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The activation memory of linear attention's forward and backward (the tape's peak bytes, no
 * timing) grows linearly in T: 8× the tokens cost at most 10× the bytes (a per-position hs × hs
 * context would cost 64× more at hs = 64), and the peak stays within a few [B, H, T, hs] tensors.
 */
class LinearAttentionMemoryTest {
    private static final int HEADS = 2, HS = 64;

    @ParameterizedTest(name = "causal={0}")
    @ValueSource(booleans = {true, false})
    void peakBytesGrowLinearlyInTheSequenceLength(boolean causal) {
        long short_ = peakBytes(512, causal), long_ = peakBytes(4096, causal);
        long oneActivation = (long) HEADS * 4096 * HS * Float.BYTES;          // one [1, H, T, hs] tensor at T = 4096
        assertThat((double) long_ / short_).as("peak bytes at T = 4096 over T = 512").isLessThanOrEqualTo(10.0);
        assertThat(long_).as("peak bytes at T = 4096 in [1, H, T, hs] tensors").isLessThanOrEqualTo(12 * oneActivation);
    }

    /** Peak bytes of out = linear attention of q, k, v [1, H, T, hs], L = Σ w·out, and L's backward. */
    private static long peakBytes(int t, boolean causal) {
        Random random = new Random(t);
        try (CpuBackend backend = new CpuBackend(); Arena arena = Arena.ofShared()) {
            Var q = Var.parameter(randn(arena, random, t), arena), k = Var.parameter(randn(arena, random, t), arena);
            Var v = Var.parameter(randn(arena, random, t), arena);
            Tensor w = randn(arena, random, t);
            try (Tape tape = new Tape(backend, true)) {
                Var out = LinearAttention.parallel(tape, q, k, v, causal);
                tape.backward(LinearAttentionParityTest.weightedSum(tape, out, w));
                assertThat(backend.sumOfSquares(k.grad())).as("a gradient reached the keys").isPositive();
                return tape.peakBytes();
            }
        }
    }

    private static Tensor randn(Arena arena, Random random, int t) {
        Tensor x = Tensor.allocate(arena, DType.F32, 1, HEADS, t, HS);
        for (long i = 0; i < x.size(); i++) x.setFloat(i, 0.5f * (float) random.nextGaussian());
        return x;
    }
}
