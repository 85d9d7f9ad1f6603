package org.gptneo.nn;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.stream.Stream;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.backend.conformance.ReferenceBackend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Linear attention's tape ops (feature maps, streaming causal kernel or non-causal composition)
 * against the float64 PyTorch reference, tools/reference/variants/linear_attention.py: output and
 * the gradients of L = Σ w·out, in F32 within 1e-5 of max-abs-error / max-abs-value. Inputs
 * [2, 3, 7, 8] (B, H, odd T, hs); the file is written by make_linear_attention_golden.py.
 */
class LinearAttentionParityTest {
    private static final GoldenTensors GOLDEN = new GoldenTensors("/golden/linear_attention.safetensors");
    private static final double TOLERANCE = 1e-5;

    static Stream<Arguments> formsAndBackends() {
        return Stream.of(
                Arguments.of("causal", true, "cpu"), Arguments.of("noncausal", false, "cpu"),
                Arguments.of("causal", true, "reference"), Arguments.of("noncausal", false, "reference"));
    }

    @ParameterizedTest(name = "{0} on {2}")
    @MethodSource("formsAndBackends")
    void matchesTheFloat64Reference(String form, boolean causal, String backendName) {
        try (Backend backend = backendName.equals("cpu") ? new CpuBackend() : new ReferenceBackend();
             Arena arena = Arena.ofShared();
             Tape tape = new Tape(backend, true)) {
            Var q = Var.parameter(GOLDEN.f32(form + ".q", arena), arena);
            Var k = Var.parameter(GOLDEN.f32(form + ".k", arena), arena);
            Var v = Var.parameter(GOLDEN.f32(form + ".v", arena), arena);
            Tensor w = GOLDEN.f32(form + ".w", arena);
            Var out = LinearAttention.parallel(tape, q, k, v, causal);       // [B, H, T, hs]
            tape.backward(weightedSum(tape, out, w));

            assertClose(out.value(), GOLDEN.values(form + ".out"), form + " out");
            assertClose(q.grad(), GOLDEN.values(form + ".dq"), form + " dq");
            assertClose(k.grad(), GOLDEN.values(form + ".dk"), form + " dk");
            assertClose(v.grad(), GOLDEN.values(form + ".dv"), form + " dv");
        }
    }

    /** L = Σ out ⊙ w as tape ops: [1, 1, n]·[1, n, 1]. */
    static Var weightedSum(Tape tape, Var out, Tensor w) {
        int n = Math.toIntExact(out.value().size());
        return tape.reshape(tape.matmul(tape.reshape(out, 1, 1, n), false, Var.constant(w.reshape(1, n, 1)), false), 1);
    }

    private static void assertClose(Tensor actual, double[] expected, String what) {
        float[] x = actual.toFloatArray();
        assertThat(x).as(what + " elements").hasSize(expected.length);
        double maxError = 0, maxValue = 0;
        for (int i = 0; i < x.length; i++) {
            maxError = Math.max(maxError, Math.abs(x[i] - expected[i]));
            maxValue = Math.max(maxValue, Math.abs(expected[i]));
        }
        assertThat(maxValue).as(what + " is not all zero").isGreaterThan(1e-3);
        assertThat(maxError / maxValue).as(what + ": max error / max value").isLessThanOrEqualTo(TOLERANCE);
    }
}
