package org.gptneo.nn;

import java.util.List;
import org.gptneo.autograd.Var;

/** LayerNorm over the last dimension with a learned scale ({@code weight}) and shift ({@code bias}), [C] each. */
public final class LayerNorm implements Module {
    private final Parameter weight;
    private final Parameter bias;
    private final float eps;

    public LayerNorm(Parameter weight, Parameter bias, float eps) {
        this.weight = weight;
        this.bias = bias;
        this.eps = eps;
    }

    /** {@code prefix + "weight"} (ones) and {@code prefix + "bias"} (zeros), [width]. */
    public static LayerNorm create(ParameterSource source, String prefix, int width, float eps) {
        return new LayerNorm(source.take(prefix + "weight", new int[] {width}, ParameterSource.Init.ONES, false),
                source.take(prefix + "bias", new int[] {width}, ParameterSource.Init.ZEROS, false), eps);
    }

    public Var forward(Pass pass, Var x) {
        return pass.tape().layerNorm(x, weight.var(), bias.var(), eps);
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(weight, bias);
    }
}
