package org.gptneo.nn;

import java.util.ArrayList;
import java.util.List;
import org.gptneo.autograd.Var;

/**
 * What layers report beside their output during one pass: auxiliary losses to add to the model's
 * loss (a mixture of experts' load-balancing loss) and routing statistics. One per pass.
 */
public final class Auxiliary {
    private final List<Var> losses = new ArrayList<>();
    private final List<RoutingStats> routing = new ArrayList<>();

    /** Adds a one-element loss term that the pass's total loss includes. */
    public void addLoss(Var loss) {
        if (loss.value().size() != 1) {
            throw new IllegalArgumentException("an auxiliary loss has one element, got " + loss.value());
        }
        losses.add(loss);
    }

    public void addRouting(RoutingStats stats) {
        routing.add(stats);
    }

    public List<Var> losses() {
        return List.copyOf(losses);
    }

    public List<RoutingStats> routing() {
        return List.copyOf(routing);
    }
}
