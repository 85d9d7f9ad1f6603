package org.gptneo.parallel;

import java.util.ArrayList;
import java.util.List;
import org.gptneo.autograd.Var;
import org.gptneo.nn.Attention;
import org.gptneo.nn.FeedForward;
import org.gptneo.nn.LayerNorm;
import org.gptneo.nn.Module;
import org.gptneo.nn.Parameter;
import org.gptneo.nn.Pass;
import org.gptneo.nn.Tokens;

/**
 * One block on a tensor-parallel rank: h + attn(f(ln_1(h))), then h + mlp(f(ln_2(h))), where the
 * attention computes this rank's heads and the MLP its slice of the width, each ending in a
 * row-parallel projection whose g makes the output whole again (before its bias and dropout). So
 * per block: two all-reduces of [N, C] in the forward pass (the g's), two in the backward (the f's).
 */
final class TensorParallelBlock implements Module {
    private final LayerNorm ln1, ln2;           // replicated
    private final Attention attention;          // null in a block without attention
    private final FeedForward mlp;
    private final Collectives tp;

    TensorParallelBlock(LayerNorm ln1, Attention attention, LayerNorm ln2, FeedForward mlp, Collectives tp) {
        this.ln1 = ln1;
        this.attention = attention;
        this.ln2 = ln2;
        this.mlp = mlp;
        this.tp = tp;
    }

    /** h [N, C], the same on every rank → [N, C], the same on every rank. */
    Var forward(Pass pass, Var h, Tokens tokens) {
        if (attention != null) {
            Var x = pass.tape().apply(new CopyToTensorParallel(tp), ln1.forward(pass, h));   // [N, C]
            h = pass.tape().add(h, attention.forward(pass, x, tokens, null));
        }
        Var x = pass.tape().apply(new CopyToTensorParallel(tp), ln2.forward(pass, h));       // [N, C]
        return pass.tape().add(h, mlp.forward(pass, x));
    }

    @Override
    public List<Parameter> parameters() {
        List<Parameter> all = new ArrayList<>();
        if (attention != null) {
            all.addAll(ln1.parameters());
            all.addAll(attention.parameters());
        }
        all.addAll(ln2.parameters());
        all.addAll(mlp.parameters());
        return all;
    }
}
