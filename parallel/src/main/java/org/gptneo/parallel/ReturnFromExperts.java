package org.gptneo.parallel;

import java.util.List;
import org.gptneo.autograd.Differentiable;
import org.gptneo.autograd.Tape;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.Tensor;

/**
 * The second all-to-all of expert parallelism: the outputs of this rank's experts go back to the
 * ranks whose tokens they computed, which place each at its gate slot: out [N·k, C], row n·k + j the
 * output of token n's choice j, zero where that assignment was not kept. Backward: the same
 * all-to-all carries each slot's gradient to the expert that computed it.
 *
 * <p>Inputs: {@code carriers} values that only make the output need a gradient on every rank alike
 * (the received rows and the held experts' weights; they get a zero gradient, so a held expert no
 * row reached has one, as an unused expert has on one device), then one output [R_e, C] per entry of
 * {@code experts} (held experts with rows, rank 0's rows first, as {@link ExpertExchange#receiveIndex}
 * orders them). So every rank records this step and runs both exchanges of the backward pass, also
 * one whose experts received nothing.
 *
 * @param slots N·k, the rows of the output
 */
record ReturnFromExperts(ExpertExchange exchange, Collectives ep, int carriers, List<Integer> experts, int slots)
        implements Differentiable {

    @Override
    public Tensor forward(Tape tape, Tensor[] inputs) {
        Backend backend = tape.backend();
        int m = exchange.block(), c = inputs[0].dim(1);
        Tensor send = tape.allocate(exchange.ranks() * m, c);                        // [ep·M, C]: block s to rank s
        for (int i = 0; i < experts.size(); i++) {
            int e = experts.get(i), at = 0;
            for (int s = 0; s < exchange.ranks(); s++) {
                int count = exchange.received(s, e), to = exchange.receiveOffset(s, e);
                if (count > 0) backend.copy(inputs[carriers + i].rows(at, at + count), send.rows(to, to + count));
                at += count;
            }
        }
        Tensor received = tape.allocate(exchange.ranks() * m, c);                    // [ep·M, C]: block j from rank j
        ep.allToAll(send, received);
        Tensor out = tape.allocate(slots, c);                                        // [N·k, C]
        for (int j = 0; j < exchange.ranks(); j++) {
            int[] slotsSent = exchange.sendSlots(j);
            if (slotsSent.length > 0) {
                backend.embeddingBackward(tape.uploadInts(slotsSent, slotsSent.length), received.rows(j * m, j * m + slotsSent.length), out);
            }
        }
        return out;
    }

    @Override
    public void backward(Tape tape, Tensor[] inputs, Tensor output, Tensor outputGrad, Tensor[] inputGrads) {
        Backend backend = tape.backend();
        int m = exchange.block(), c = outputGrad.dim(1);
        Tensor send = tape.allocate(exchange.ranks() * m, c);                        // [ep·M, C]: block j to rank j
        for (int j = 0; j < exchange.ranks(); j++) {
            int[] slotsSent = exchange.sendSlots(j);
            if (slotsSent.length > 0) {
                backend.embedding(outputGrad, tape.uploadInts(slotsSent, slotsSent.length), send.rows(j * m, j * m + slotsSent.length));
            }
        }
        Tensor received = tape.allocate(exchange.ranks() * m, c);                    // [ep·M, C]: block s from rank s
        ep.allToAll(send, received);
        for (int i = 0; i < experts.size(); i++) {
            Tensor grad = inputGrads[carriers + i];
            if (grad == null) continue;
            int e = experts.get(i), at = 0;
            for (int s = 0; s < exchange.ranks(); s++) {
                int count = exchange.received(s, e), from = exchange.receiveOffset(s, e);
                if (count > 0) backend.axpy(1f, received.rows(from, from + count), grad.rows(at, at + count));
                at += count;
            }
        }
    }
}
