package org.gptneo.model;

import java.util.List;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.nn.Auxiliary;
import org.gptneo.nn.RoutingStats;

/**
 * What one forward pass of the model gives: the logits and, for models with mixture-of-experts
 * layers, the summed auxiliary (load-balancing) loss and each layer's routing statistics.
 *
 * @param logits  [B, T, V]
 * @param auxLoss one element, already scaled by its coefficient; null when no layer reported one
 * @param routing per mixture-of-experts layer, in block order (empty without experts)
 */
public record ModelOutput(Var logits, Var auxLoss, List<RoutingStats> routing) {

    public ModelOutput {
        routing = List.copyOf(routing);
    }

    static ModelOutput of(Tape tape, Var logits, Auxiliary auxiliary) {
        Var aux = null;
        for (Var loss : auxiliary.losses()) {
            aux = aux == null ? loss : tape.add(aux, loss);
        }
        return new ModelOutput(logits, aux, auxiliary.routing());
    }
}
