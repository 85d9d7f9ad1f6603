package org.gptneo.nn;

import java.util.ArrayList;
import java.util.List;
import org.gptneo.autograd.Var;

/** torch's nn.Linear: y [N, out] = x [N, in] · weightᵀ + bias, weight [out, in], bias [out] or none. */
public final class Linear implements Projection {
    private final Parameter weight;
    private final Parameter bias;

    public Linear(Parameter weight, Parameter bias) {
        if (weight.shape().length != 2 || bias != null && (bias.shape().length != 1 || bias.shape()[0] != weight.shape()[0])) {
            throw new IllegalArgumentException("a linear layer needs weight [out, in] and bias [out]: " + weight + ", " + bias);
        }
        this.weight = weight;
        this.bias = bias;
    }

    /** {@code prefix + "weight"} [out, in] and, when {@code withBias}, {@code prefix + "bias"} [out]. */
    public static Linear create(ParameterSource source, String prefix, int in, int out, boolean withBias) {
        Parameter w = source.take(prefix + "weight", new int[] {out, in}, ParameterSource.Init.NORMAL, true);
        Parameter b = withBias ? source.take(prefix + "bias", new int[] {out}, ParameterSource.Init.ZEROS, false) : null;
        return new Linear(w, b);
    }

    public Parameter weight() {
        return weight;
    }

    /** The bias, or null. */
    public Parameter bias() {
        return bias;
    }

    @Override
    public Var forward(Pass pass, Var x) {
        return pass.tape().linear(x, weight.var(), bias == null ? null : bias.var());
    }

    @Override
    public int inFeatures() {
        return weight.shape()[1];
    }

    @Override
    public int outFeatures() {
        return weight.shape()[0];
    }

    @Override
    public List<Parameter> parameters() {
        List<Parameter> out = new ArrayList<>(List.of(weight));
        if (bias != null) out.add(bias);
        return out;
    }
}
