package org.gptneo.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import org.gptneo.nn.RoutingStats;

/**
 * How a step's mixture-of-experts layers routed, over all its micro-batches (metrics.jsonl's
 * {@code aux_loss}, {@code moe_drop_rate} and {@code moe_tokens_per_expert}).
 *
 * @param auxLoss the summed auxiliary loss (coefficient applied), mean over the micro-batches; part of the step's loss
 * @param layers  per layer in block order: kept assignments per expert, assignments and drops summed over the
 *                micro-batches, the layer's own aux loss (before the coefficient) their mean
 */
public record RoutingMetrics(double auxLoss, List<RoutingStats> layers) {

    public RoutingMetrics {
        layers = List.copyOf(layers);
    }

    /** Adds up the micro-batches of one step. */
    static final class Sum {
        private final TreeMap<Integer, RoutingStats> layers = new TreeMap<>();
        private double auxLoss;
        private int microBatches;

        /** One micro-batch: its summed aux loss value and its layers' statistics. */
        void add(double aux, List<RoutingStats> routing) {
            if (routing.isEmpty()) return;
            auxLoss += aux;
            microBatches++;
            for (RoutingStats s : routing) {
                layers.merge(s.layer(), s, Sum::merged);
            }
        }

        private static RoutingStats merged(RoutingStats a, RoutingStats b) {
            int[] tokens = a.tokensPerExpert(), more = b.tokensPerExpert();
            if (tokens.length != more.length) {
                throw new IllegalStateException("layer " + a.layer() + " reported " + tokens.length + " and then "
                        + more.length + " experts");
            }
            for (int e = 0; e < tokens.length; e++) tokens[e] += more[e];
            return new RoutingStats(a.layer(), tokens, a.assignments() + b.assignments(), a.dropped() + b.dropped(),
                    a.auxLoss() + b.auxLoss());
        }

        /** The step's metrics, or empty when no micro-batch reported routing (a model without experts). */
        Optional<RoutingMetrics> result() {
            if (microBatches == 0) return Optional.empty();
            List<RoutingStats> out = new ArrayList<>();
            for (RoutingStats s : layers.values()) {
                out.add(new RoutingStats(s.layer(), s.tokensPerExpert(), s.assignments(), s.dropped(), s.auxLoss() / microBatches));
            }
            return Optional.of(new RoutingMetrics(auxLoss / microBatches, out));
        }
    }
}
