package org.gptneo.nn;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.Tensor;

/**
 * One mixture-of-experts layer with given weights on a backend, and one forward and backward pass of
 * L = Σ w·y + aux through it, every result copied back to the host. Weights are row-major host arrays:
 * gate [E, C], per expert fc [H, C] and proj [C, H]; x and w are [N, C].
 */
final class MoeFixture {
    private MoeFixture() {}

    /** The settings the tests vary, the others at the contract's defaults. */
    static MoeSettings settings(int experts, int topK, String activation, float factor, float evalFactor, int groupSize,
                                SecondExpertPolicy training, SecondExpertPolicy eval) {
        return new MoeSettings(List.of(0), experts, topK, null, activation, factor, evalFactor, 1, groupSize, training, eval,
                0.2f, 0.01f);
    }

    record Weights(int c, int h, float[] gate, float[][] fc, float[][] proj) {
        int experts() {
            return fc.length;
        }
    }

    /** What one pass gives back. */
    record Result(float[] y, float aux, RoutingStats stats, float[] dx, float[] dGate, float[][] dFc, float[][] dProj) {}

    /** Weights with N(0, std²) entries from {@code random}, expert width h. */
    static Weights randomWeights(Random random, int experts, int c, int h, float gateStd, float expertStd) {
        float[][] fc = new float[experts][], proj = new float[experts][];
        for (int e = 0; e < experts; e++) {
            fc[e] = gaussian(random, h * c, expertStd);
            proj[e] = gaussian(random, c * h, expertStd);
        }
        return new Weights(c, h, gaussian(random, experts * c, gateStd), fc, proj);
    }

    static float[] gaussian(Random random, int n, float std) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) (random.nextGaussian() * std);
        return out;
    }

    /** Layer {@code layer} of {@code settings} with {@code weights} (width h) on {@code backend}, its parameters in {@code arena}. */
    static MixtureOfExperts layer(Backend backend, Arena arena, MoeSettings settings, Weights weights, int layer) {
        String prefix = "transformer.h." + layer + ".mlp.";
        ParameterSource source = (name, shape, init, half) -> {
            float[] values = valuesOf(weights, prefix, name);
            Tensor host = Tensor.of(arena, values, shape);
            return Parameter.of(name, Var.parameter(backend.upload(host, arena), arena));
        };
        MoeSettings sized = new MoeSettings(settings.layers(), settings.experts(), settings.topK(), weights.h(),
                settings.activation(), settings.capacityFactor(), settings.evalCapacityFactor(), settings.minCapacity(),
                settings.groupSize(), settings.secondPolicy(), settings.secondPolicyEval(), settings.secondThreshold(),
                settings.auxLossCoefficient());
        return new MixtureOfExperts(new FeedForward.Spec(layer, prefix, weights.c(), 4 * weights.c(), 0f, source), sized);
    }

    /** One pass of x [n, C] through the layer; the loss Σ w·y + aux is back-propagated. */
    static Result run(Backend backend, MoeSettings settings, Weights weights, float[] x, float[] w, boolean training,
                      long seed, int layer) {
        int c = weights.c(), n = x.length / c;
        try (Arena arena = Arena.ofShared(); Tape tape = new Tape(backend, true)) {
            MixtureOfExperts moe = layer(backend, arena, settings, weights, layer);
            Var xv = Var.parameter(backend.upload(Tensor.of(arena, x, n, c), arena), arena);
            Pass pass = new Pass(tape, training, seed);
            Var y = moe.forward(pass, xv);                                                    // [N, C]
            Var aux = pass.auxiliary().losses().getFirst();                                   // [1]
            Var wv = Var.constant(backend.upload(Tensor.of(arena, w, n * c, 1), arena));
            Var loss = tape.add(tape.reshape(tape.matmul(tape.reshape(y, 1, n * c), false, wv, false), 1), aux);
            tape.backward(loss);
            List<Parameter> p = moe.parameters();
            float[][] dFc = new float[weights.experts()][], dProj = new float[weights.experts()][];
            for (int e = 0; e < weights.experts(); e++) {
                dFc[e] = host(backend, arena, p.get(1 + 2 * e).grad());
                dProj[e] = host(backend, arena, p.get(2 + 2 * e).grad());
            }
            return new Result(host(backend, arena, y.value()), host(backend, arena, aux.value())[0],
                    pass.auxiliary().routing().getFirst(), host(backend, arena, xv.grad()), host(backend, arena, p.getFirst().grad()),
                    dFc, dProj);
        }
    }

    /** The values of {@code t} on the host; null for a gradient no backward step reached. */
    private static float[] host(Backend backend, Arena arena, Tensor t) {
        return t == null ? null : backend.download(t, arena).toFloatArray();
    }

    private static float[] valuesOf(Weights weights, String prefix, String name) {
        String local = name.substring(prefix.length());
        if (local.equals("gate.weight")) return weights.gate();
        String[] parts = local.split("\\.");                           // experts.<e>.c_fc.weight
        int e = Integer.parseInt(parts[1]);
        return parts[2].equals("c_fc") ? weights.fc()[e] : weights.proj()[e];
    }

    /** Gate probabilities of token row n, in double: softmax(x[n]·gateᵀ). */
    static double[] probs(Weights weights, float[] x, int n) {
        int c = weights.c(), e = weights.experts();
        double[] logits = new double[e];
        double max = Double.NEGATIVE_INFINITY, total = 0;
        for (int j = 0; j < e; j++) {
            for (int i = 0; i < c; i++) logits[j] += (double) x[n * c + i] * weights.gate()[j * c + i];
            max = Math.max(max, logits[j]);
        }
        for (int j = 0; j < e; j++) total += logits[j] = Math.exp(logits[j] - max);
        for (int j = 0; j < e; j++) logits[j] /= total;
        return logits;
    }

    /** Expert e on token row n, in double: act(x[n]·fcᵀ)·projᵀ → [C]. */
    static double[] expert(Weights weights, int e, float[] x, int n, String activation) {
        int c = weights.c(), h = weights.h();
        double[] out = new double[c];
        for (int j = 0; j < h; j++) {
            double a = 0;
            for (int i = 0; i < c; i++) a += (double) x[n * c + i] * weights.fc()[e][j * c + i];
            a = activation.equals("relu") ? Math.max(a, 0)
                    : 0.5 * a * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (a + 0.044715 * a * a * a)));
            for (int i = 0; i < c; i++) out[i] += a * weights.proj()[e][i * h + j];
        }
        return out;
    }

    /** max |actual − expected| / max |expected|. */
    static double relativeError(float[] actual, double[] expected) {
        double error = 0, scale = 0;
        for (int i = 0; i < expected.length; i++) {
            error = Math.max(error, Math.abs(actual[i] - expected[i]));
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        return error / Math.max(scale, Double.MIN_NORMAL);
    }
}
