package org.gptneo.train;

/**
 * An evaluation on the validation data after {@code step} steps: mean next-token loss over every
 * predicted token, and {@code perplexity = exp(loss)}.
 */
public record EvalMetrics(int step, double loss, double perplexity, long tokens) {}
