package org.gptneo.train;

/**
 * One optimizer step as the trainer logs it (a row of metrics.jsonl).
 *
 * @param step           1-based number of the step just taken
 * @param loss           mean training loss over the step's micro-batches
 * @param learningRate   the rate this step used
 * @param gradNorm       global gradient norm before clipping
 * @param tokensPerSecond training tokens of this step over its wall time
 */
public record StepMetrics(int step, double loss, double learningRate, double gradNorm, double tokensPerSecond) {}
