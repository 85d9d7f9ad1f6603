package org.gptneo.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.gptneo.backend.Backend;
import org.gptneo.backend.conformance.OffHostBackend;
import org.gptneo.backend.cpu.CpuBackend;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The layer against the float64 PyTorch reference (tools/reference/variants/moe.py, fixture written by
 * tools/reference/make_moe_golden.py): outputs, aux loss, the gradients of Σ w·y + aux for x, the gate
 * and every expert's weights, and the routing counts, for top-1, top-2 and top-2 with the random policy,
 * each over capacity in groups 4, 4, 2, on the CPU backend and on one whose memory the host cannot read.
 */
class MixtureOfExpertsParityTest {
    private static final GoldenTensors GOLDEN = new GoldenTensors("/moe/moe-layer.safetensors");
    private static final int C = 6, E = 4, H = 8;

    /** The cases of make_moe_golden.py: settings, training, seed, layer. */
    private record Case(String name, MoeSettings settings, boolean training, long seed, int layer) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> cases() {
        Case top1 = new Case("top1", MoeFixture.settings(E, 1, "relu", 1.25f, 1.0f, 4,
                SecondExpertPolicy.RANDOM, SecondExpertPolicy.ALL), false, 0, 0);
        Case top2 = new Case("top2", MoeFixture.settings(E, 2, "gelu_new", 1.25f, 1.5f, 4,
                SecondExpertPolicy.RANDOM, SecondExpertPolicy.ALL), false, 0, 0);
        Case random = new Case("top2random", MoeFixture.settings(E, 2, "relu", 2.0f, 2.0f, 4,
                SecondExpertPolicy.RANDOM, SecondExpertPolicy.ALL), true, 1234, 3);
        Supplier<Backend> cpu = CpuBackend::new, offHost = OffHostBackend::new;
        return Stream.of(top1, top2, random).flatMap(c -> Stream.of(Arguments.of(c, "cpu", cpu), Arguments.of(c, "offhost", offHost)));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void matchesTheFloat64Reference(Case c, String backendName, Supplier<Backend> backends) {
        String p = c.name() + ".";
        float[][] fc = split(GOLDEN.floats(p + "fc")), proj = split(GOLDEN.floats(p + "proj"));
        MoeFixture.Weights weights = new MoeFixture.Weights(C, H, GOLDEN.floats(p + "gate"), fc, proj);
        MoeFixture.Result r;
        try (Backend backend = backends.get()) {
            r = MoeFixture.run(backend, c.settings(), weights, GOLDEN.floats(p + "x"), GOLDEN.floats(p + "w"),
                    c.training(), c.seed(), c.layer());
        }
        assertThat(MoeFixture.relativeError(r.y(), GOLDEN.values(p + "y"))).as("y").isLessThanOrEqualTo(1e-5);
        assertThat(MoeFixture.relativeError(new float[] {r.aux()}, GOLDEN.values(p + "aux"))).as("aux").isLessThanOrEqualTo(1e-5);
        assertThat(MoeFixture.relativeError(r.dx(), GOLDEN.values(p + "grad.x"))).as("dx").isLessThanOrEqualTo(1e-5);
        assertThat(MoeFixture.relativeError(r.dGate(), GOLDEN.values(p + "grad.gate"))).as("dGate").isLessThanOrEqualTo(1e-5);
        assertThat(MoeFixture.relativeError(joined(r.dFc()), GOLDEN.values(p + "grad.fc"))).as("dFc").isLessThanOrEqualTo(1e-5);
        assertThat(MoeFixture.relativeError(joined(r.dProj()), GOLDEN.values(p + "grad.proj"))).as("dProj").isLessThanOrEqualTo(1e-5);

        int[] kept = new int[E];
        double[] golden = GOLDEN.values(p + "kept");
        for (int e = 0; e < E; e++) kept[e] = (int) golden[e];
        assertThat(r.stats().tokensPerExpert()).containsExactly(kept);
        assertThat(r.stats().assignments()).isEqualTo((long) GOLDEN.values(p + "assignments")[0]);
        assertThat(r.stats().dropped()).isEqualTo((long) GOLDEN.values(p + "dropped")[0]).isPositive();
        assertThat(r.stats().auxLoss() * 0.01).isCloseTo(GOLDEN.values(p + "aux")[0], within(1e-8));
    }

    /** [E, a, b] row-major → E arrays of a·b. */
    private static float[][] split(float[] stacked) {
        int each = stacked.length / E;
        float[][] out = new float[E][];
        for (int e = 0; e < E; e++) out[e] = Arrays.copyOfRange(stacked, e * each, (e + 1) * each);
        return out;
    }

    /** A gradient per expert (null: none reached that expert, zero) stacked as [E, ...]. */
    private static float[] joined(float[][] perExpert) {
        int each = C * H;
        float[] out = new float[E * each];
        for (int e = 0; e < E; e++) {
            if (perExpert[e] != null) System.arraycopy(perExpert[e], 0, out, e * each, each);
        }
        return out;
    }
}
