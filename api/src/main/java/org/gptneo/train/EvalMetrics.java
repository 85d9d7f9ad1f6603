package org.gptneo.train;

/**
 * An evaluation on the validation data after {@code step} steps: mean loss over every scored token
 * (next-token for causal LM, masked positions for masked LM, see {@link Evaluation}),
 * and {@code perplexity = exp(loss)}.
 */
public record EvalMetrics(int step, double loss, double perplexity, long tokens) {}
