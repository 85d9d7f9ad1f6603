package org.gptneo.nn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Function;
import org.gptneo.backend.cpu.CpuBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The tape's gradients of the whole layer against central finite differences of its float32 forward:
 * L = Σ w·y + aux (and aux alone) w.r.t. x, the gate and expert 0's c_fc and c_proj, top-2 over
 * capacity in two groups (capacity 1 of 3 tokens), gelu_new (no kinks). The inputs are drawn until
 * every token's top-3 gate logits are 0.3 apart, so no step of 1e-2 changes a routing decision.
 */
class MixtureOfExpertsGradientTest {
    private static final CpuBackend CPU = new CpuBackend(2);
    private static final int N = 6, C = 4, E = 3, H = 5;
    private static final float STEP = 1e-2f;
    private static final MoeSettings SETTINGS = MoeFixture.settings(E, 2, "gelu_new", 1.25f, 1.0f, 3,
            SecondExpertPolicy.RANDOM, SecondExpertPolicy.ALL);

    @AfterAll
    static void close() {
        CPU.close();
    }

    @ParameterizedTest(name = "loss = Σ w·y + aux: {0}")
    @ValueSource(booleans = {true, false})
    void tapeGradientsMatchFiniteDifferences(boolean withOutput) {
        Random random = new Random(41);
        MoeFixture.Weights weights;
        float[] x;
        do {
            weights = MoeFixture.randomWeights(random, E, C, H, 1.5f, 0.6f);
            x = MoeFixture.gaussian(random, N * C, 1f);
        } while (!clearRouting(weights, x));
        float[] w = withOutput ? MoeFixture.gaussian(random, N * C, 1f) : new float[N * C];
        MoeFixture.Result r = MoeFixture.run(CPU, SETTINGS, weights, x, w, false, 0, 0);
        assertThat(r.stats().dropped()).as("the fixture drops assignments").isPositive();

        MoeFixture.Weights base = weights;
        float[] xs = x;
        check("dx", r.dx(), x, v -> loss(base, v, w));
        check("dGate", r.dGate(), weights.gate(), v -> loss(new MoeFixture.Weights(C, H, v, base.fc(), base.proj()), xs, w));
        if (withOutput) {                                            // aux alone does not reach the experts
            check("dFc expert 0", r.dFc()[0], weights.fc()[0], v -> loss(withExpert0(base, v, true), xs, w));
            check("dProj expert 0", r.dProj()[0], weights.proj()[0], v -> loss(withExpert0(base, v, false), xs, w));
        } else {
            for (float[] g : r.dFc()) assertThat(g).containsOnly(0f);
        }
    }

    private static double loss(MoeFixture.Weights weights, float[] x, float[] w) {
        MoeFixture.Result r = MoeFixture.run(CPU, SETTINGS, weights, x, w, false, 0, 0);
        double total = r.aux();
        for (int i = 0; i < w.length; i++) total += (double) w[i] * r.y()[i];
        return total;
    }

    /** The analytic gradient within 1e-2 of the largest numeric one, which must not be zero. */
    private static void check(String what, float[] analytic, float[] at, Function<float[], Double> loss) {
        double maxError = 0, maxValue = 0;
        for (int i = 0; i < at.length; i++) {
            float[] up = at.clone(), down = at.clone();
            up[i] += STEP;
            down[i] -= STEP;
            double numeric = (loss.apply(up) - loss.apply(down)) / ((double) up[i] - down[i]);
            maxError = Math.max(maxError, Math.abs(analytic[i] - numeric));
            maxValue = Math.max(maxValue, Math.abs(numeric));
        }
        assertThat(maxValue).as(what + ": a gradient that is not zero").isGreaterThan(1e-4);
        assertThat(maxError).as(what + ": max error against max gradient " + maxValue).isLessThanOrEqualTo(1e-2 * maxValue);
    }

    private static MoeFixture.Weights withExpert0(MoeFixture.Weights w, float[] values, boolean fc) {
        float[][] fcs = w.fc().clone(), projs = w.proj().clone();
        if (fc) fcs[0] = values;
        else projs[0] = values;
        return new MoeFixture.Weights(C, H, w.gate(), fcs, projs);
    }

    private static boolean clearRouting(MoeFixture.Weights weights, float[] x) {
        for (int t = 0; t < N; t++) {
            double[] logits = new double[E];
            for (int e = 0; e < E; e++) {
                for (int i = 0; i < C; i++) logits[e] += (double) x[t * C + i] * weights.gate()[e * C + i];
            }
            Arrays.sort(logits);
            for (int e = 1; e < E; e++) if (logits[e] - logits[e - 1] < 0.3) return false;
        }
        return true;
    }
}
