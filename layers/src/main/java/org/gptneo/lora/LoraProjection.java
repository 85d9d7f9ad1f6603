package org.gptneo.lora;

import java.util.ArrayList;
import java.util.List;
import org.gptneo.autograd.Var;
import org.gptneo.nn.Parameter;
import org.gptneo.nn.Pass;
import org.gptneo.nn.Projection;

/**
 * A projection with a LoRA path beside it: y [N, out] = base(x) + scaling · (dropout(x) · Aᵀ) · Bᵀ
 * for x [N, in], A [r, in], B [out, r]. Its parameters are the base's followed by
 * {@code <prefix>lora_A.weight} and {@code <prefix>lora_B.weight}.
 */
final class LoraProjection implements Projection {
    private final Projection base;
    private final Parameter a;          // [r, in]
    private final Parameter b;          // [out, r]
    private final float scaling;
    private final float dropout;
    private final int dropoutSite;

    LoraProjection(Projection base, Parameter a, Parameter b, float scaling, float dropout, int dropoutSite) {
        this.base = base;
        this.a = a;
        this.b = b;
        this.scaling = scaling;
        this.dropout = dropout;
        this.dropoutSite = dropoutSite;
    }

    Projection base() {
        return base;
    }

    Parameter a() {
        return a;
    }

    Parameter b() {
        return b;
    }

    @Override
    public Var forward(Pass pass, Var x) {
        Var y = base.forward(pass, x);                                                  // [N, out]
        Var dropped = pass.dropout(x, dropout, dropoutSite);                            // [N, in]
        Var down = pass.tape().matmul(dropped, false, a.var(), true);                   // [N, r]
        Var up = pass.tape().matmul(down, false, b.var(), true);                        // [N, out]
        return pass.tape().apply(new ScaledSum(scaling), y, up);
    }

    @Override
    public int inFeatures() {
        return base.inFeatures();
    }

    @Override
    public int outFeatures() {
        return base.outFeatures();
    }

    @Override
    public List<Parameter> parameters() {
        List<Parameter> all = new ArrayList<>(base.parameters());
        all.add(a);
        all.add(b);
        return all;
    }
}
