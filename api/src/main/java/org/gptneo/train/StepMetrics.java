package org.gptneo.train;

import java.util.Optional;

/**
 * One optimizer step as the trainer logs it (a row of metrics.jsonl).
 *
 * @param step           1-based number of the step just taken
 * @param loss           mean training loss over the step's micro-batches (the loss trained: auxiliary losses included)
 * @param learningRate   the rate this step used
 * @param gradNorm       global gradient norm before clipping
 * @param tokensPerSecond training tokens of this step over its wall time
 * @param routing        the mixture-of-experts layers' routing and aux loss (empty for a model without experts)
 */
public record StepMetrics(int step, double loss, double learningRate, double gradNorm, double tokensPerSecond,
                          Optional<RoutingMetrics> routing) {

    /** A step of a model without experts. */
    public StepMetrics(int step, double loss, double learningRate, double gradNorm, double tokensPerSecond) {
        this(step, loss, learningRate, gradNorm, tokensPerSecond, Optional.empty());
    }
}
