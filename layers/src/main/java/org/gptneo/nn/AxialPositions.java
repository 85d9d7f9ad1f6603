package org.gptneo.nn;

import java.util.List;
import org.gptneo.autograd.Var;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * Axial position embedding: two tables E1 [a1, C] ({@code transformer.wpe_axial.0.weight}) and
 * E2 [a2, C] ({@code transformer.wpe_axial.1.weight}); position p is (E1[p / a2] + E2[p % a2]) / 2,
 * so a1 + a2 rows stand for a1·a2 positions.
 */
public final class AxialPositions implements Module {
    private final Embedding rows, columns;

    public AxialPositions(ParameterSource source, int a1, int a2, int width) {
        this.rows = Embedding.create(source, "transformer.wpe_axial.0.weight", a1, width);
        this.columns = Embedding.create(source, "transformer.wpe_axial.1.weight", a2, width);
    }

    /** positions [N] (I32) → [N, C]. */
    public Var forward(Pass pass, Tensor positions) {
        int a2 = columns.table().shape()[0];
        Tensor quotient = pass.tape().allocate(DType.I32, positions.shape());
        Tensor remainder = pass.tape().allocate(DType.I32, positions.shape());
        pass.tape().backend().divMod(positions, a2, quotient, remainder);
        Var sum = pass.tape().add(rows.forward(pass, quotient), columns.forward(pass, remainder));
        return pass.tape().scale(sum, 0.5f);
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(rows.table(), columns.table());
    }
}
