package org.gptneo.parallel;

import org.gptneo.autograd.Differentiable;
import org.gptneo.autograd.Tape;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.Tensor;

/**
 * The first all-to-all of expert parallelism: x [N, C] → the rows this rank's experts process
 * [ep·M, C], block s from rank s (see {@link ExpertExchange}; padding rows are zero). Backward: the
 * same all-to-all carries each row's gradient back to its sender, which adds it into x's gradient.
 */
record DispatchToExperts(ExpertExchange exchange, Collectives ep) implements Differentiable {

    @Override
    public Tensor forward(Tape tape, Tensor[] inputs) {
        Tensor x = inputs[0];                                                        // [N, C]
        int m = exchange.block(), c = x.dim(1);
        Tensor send = tape.allocate(exchange.ranks() * m, c);                        // [ep·M, C]
        for (int j = 0; j < exchange.ranks(); j++) {
            int[] rows = exchange.sendRows(j);
            if (rows.length > 0) {
                tape.backend().embedding(x, tape.uploadInts(rows, rows.length), send.rows(j * m, j * m + rows.length));
            }
        }
        Tensor received = tape.allocate(exchange.ranks() * m, c);                    // [ep·M, C]
        ep.allToAll(send, received);
        return received;
    }

    @Override
    public void backward(Tape tape, Tensor[] inputs, Tensor output, Tensor outputGrad, Tensor[] inputGrads) {
        Backend backend = tape.backend();
        int m = exchange.block();
        Tensor back = tape.allocate(outputGrad.shape());                             // [ep·M, C]: block j from rank j
        ep.allToAll(outputGrad, back);
        if (inputGrads[0] == null) return;
        for (int j = 0; j < exchange.ranks(); j++) {
            int[] rows = exchange.sendRows(j);
            if (rows.length > 0) {
                backend.embeddingBackward(tape.uploadInts(rows, rows.length), back.rows(j * m, j * m + rows.length), inputGrads[0]);
            }
        }
    }
}
