package org.gptneo.generate;

import java.util.List;

/**
 * How to pick new tokens, with Hugging Face's meanings. Greedy unless {@code sample} is set; when
 * sampling, the logits go through repetition penalty, temperature, top-k and top-p in that order.
 *
 * @param maxNewTokens      at most this many new tokens
 * @param sample            false: greedy (argmax); true: sample from the processed distribution
 * @param temperature       > 0; logits are divided by it (sampling only)
 * @param topK              keep the k most likely tokens; 0 turns it off
 * @param topP              keep the smallest set whose probability reaches p; 1 turns it off
 * @param repetitionPenalty > 0; 1 turns it off; tokens already in the sequence have positive logits
 *                          divided and negative ones multiplied by it (also applies when greedy)
 * @param seed              seeds sampling: the same seed gives the same tokens
 * @param stopStrings       generation stops once the text contains one (the text keeps it)
 * @param stopAtEos         stop after producing the end-of-text token (which the text leaves out)
 */
public record GenerationConfig(int maxNewTokens, boolean sample, float temperature, int topK, float topP,
                               float repetitionPenalty, long seed, List<String> stopStrings, boolean stopAtEos) {

    public GenerationConfig {
        stopStrings = List.copyOf(stopStrings);
        if (maxNewTokens < 0) throw new IllegalArgumentException("maxNewTokens must be ≥ 0, got " + maxNewTokens);
        if (!(temperature > 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be > 0, got " + temperature);
        }
        if (topK < 0) throw new IllegalArgumentException("topK must be ≥ 0 (0 = off), got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        if (!(repetitionPenalty > 0) || Float.isInfinite(repetitionPenalty)) {
            throw new IllegalArgumentException("repetitionPenalty must be > 0, got " + repetitionPenalty);
        }
        for (String s : stopStrings) {
            if (s.isEmpty()) throw new IllegalArgumentException("stop strings must not be empty");
        }
    }

    /** Greedy decoding of up to {@code maxNewTokens}, stopping at end-of-text. */
    public static GenerationConfig greedy(int maxNewTokens) {
        return new GenerationConfig(maxNewTokens, false, 1f, 0, 1f, 1f, 0, List.of(), true);
    }

    /** Sampling with temperature, top-k and top-p, seeded. */
    public static GenerationConfig sampling(int maxNewTokens, float temperature, int topK, float topP, long seed) {
        return new GenerationConfig(maxNewTokens, true, temperature, topK, topP, 1f, seed, List.of(), true);
    }

    public GenerationConfig withRepetitionPenalty(float penalty) {
        return new GenerationConfig(maxNewTokens, sample, temperature, topK, topP, penalty, seed, stopStrings, stopAtEos);
    }

    public GenerationConfig withStopStrings(List<String> stops) {
        return new GenerationConfig(maxNewTokens, sample, temperature, topK, topP, repetitionPenalty, seed, stops, stopAtEos);
    }

    public GenerationConfig withStopAtEos(boolean stop) {
        return new GenerationConfig(maxNewTokens, sample, temperature, topK, topP, repetitionPenalty, seed, stopStrings, stop);
    }

    public GenerationConfig withSeed(long newSeed) {
        return new GenerationConfig(maxNewTokens, sample, temperature, topK, topP, repetitionPenalty, newSeed, stopStrings, stopAtEos);
    }
}
