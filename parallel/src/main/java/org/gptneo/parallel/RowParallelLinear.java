package org.gptneo.parallel;

import java.util.ArrayList;
import java.util.List;
import org.gptneo.autograd.Var;
import org.gptneo.nn.Linear;
import org.gptneo.nn.Parameter;
import org.gptneo.nn.Pass;
import org.gptneo.nn.Projection;

/**
 * A row-parallel projection (out_proj, c_proj): rank r holds the columns [r·in/t, (r+1)·in/t) of the
 * weight, so from its slice of the input features x_r [N, in/t] it makes a partial output
 * x_r·W_rᵀ [N, out]; g sums the partials over the ranks, then the (replicated) bias is added once.
 */
final class RowParallelLinear implements Projection {
    private final Parameter weight;         // [out, in/t]
    private final Parameter bias;           // [out] or null
    private final Collectives tp;

    /** Over the weight shard and the full bias of {@code shard}. */
    RowParallelLinear(Linear shard, Collectives tp) {
        this.weight = shard.weight();
        this.bias = shard.bias();
        this.tp = tp;
    }

    @Override
    public Var forward(Pass pass, Var x) {
        Var partial = pass.tape().linear(x, weight.var(), null);                          // [N, out], this rank's part
        Var sum = pass.tape().apply(new ReduceFromTensorParallel(tp), partial);           // [N, out]
        return bias == null ? sum : pass.tape().apply(BiasAdd.INSTANCE, sum, bias.var());
    }

    /** The input features of this rank's slice: in/t. */
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
