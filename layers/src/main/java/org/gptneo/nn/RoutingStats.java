package org.gptneo.nn;

/**
 * How one mixture-of-experts layer routed one pass's tokens.
 *
 * @param layer            block index
 * @param tokensPerExpert  per expert, the assignments it kept (first and second choices)
 * @param assignments      assignments made before capacity (tokens × choices kept by the policy)
 * @param dropped          assignments over capacity, which contribute nothing
 * @param auxLoss          the layer's load-balancing loss, before the coefficient
 */
public record RoutingStats(int layer, int[] tokensPerExpert, long assignments, long dropped, double auxLoss) {

    public RoutingStats {
        tokensPerExpert = tokensPerExpert.clone();
    }

    @Override
    public int[] tokensPerExpert() {
        return tokensPerExpert.clone();
    }

    /** Dropped assignments as a fraction of all (0 when there were none). */
    public double dropRate() {
        return assignments == 0 ? 0 : (double) dropped / assignments;
    }
}
