package org.gptneo.nn;

import java.util.ArrayList;
import java.util.List;
import org.gptneo.autograd.Var;

/**
 * GPT-Neo's feed-forward layer: c_proj(gelu_new(c_fc(x))), c_fc [F, C] + [F], c_proj [C, F] + [C],
 * with residual dropout on the output.
 */
public final class Mlp implements FeedForward {
    private final String prefix;
    private final int layer;
    private final float residDropout;
    private Projection fc, proj;

    Mlp(Spec spec) {
        this.prefix = spec.prefix();
        this.layer = spec.layer();
        this.residDropout = spec.residDropout();
        this.fc = Linear.create(spec.source(), prefix + "c_fc.", spec.hiddenSize(), spec.intermediateSize(), true);
        this.proj = Linear.create(spec.source(), prefix + "c_proj.", spec.intermediateSize(), spec.hiddenSize(), true);
    }

    @Override
    public Var forward(Pass pass, Var x) {
        Var hidden = pass.tape().geluNew(fc.forward(pass, x));          // [N, F]
        return pass.dropout(proj.forward(pass, hidden), residDropout, 4 * layer + 3);  // [N, C]
    }

    @Override
    public void rewriteProjections(ProjectionRewriter rewriter) {
        fc = rewriter.rewrite(prefix + "c_fc.", fc);
        proj = rewriter.rewrite(prefix + "c_proj.", proj);
    }

    @Override
    public List<Parameter> parameters() {
        List<Parameter> all = new ArrayList<>(fc.parameters());
        all.addAll(proj.parameters());
        return all;
    }
}
