package org.gptneo.nn;

import java.util.List;
import org.gptneo.autograd.Var;
import org.gptneo.tensor.Tensor;

/** A lookup table [rows, C]: ids (I32, any shape) → their rows, [ids..., C]. */
public final class Embedding implements Module {
    private final Parameter table;

    public Embedding(Parameter table) {
        this.table = table;
    }

    /** {@code name} [rows, width], initialised N(0, σ²). */
    public static Embedding create(ParameterSource source, String name, int rows, int width) {
        return new Embedding(source.take(name, new int[] {rows, width}, ParameterSource.Init.NORMAL, true));
    }

    public Parameter table() {
        return table;
    }

    public Var forward(Pass pass, Tensor ids) {
        return pass.tape().embedding(table.var(), ids);
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(table);
    }
}
