package org.gptneo.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from one row of logits: repetition penalty, then argmax (greedy) or
 * temperature → top-k → top-p → a seeded draw. One sampler per sequence; not thread-safe.
 */
final class Sampler {
    private final GenerationConfig config;
    private final SplittableRandom random;

    Sampler(GenerationConfig config, long seed) {
        this.config = config;
        this.random = new SplittableRandom(seed);
    }

    /** The next token for {@code logits} [V] given every token the sequence holds so far. */
    int next(float[] logits, int[] seen, int seenCount) {
        float[] x = logits.clone();
        if (config.repetitionPenalty() != 1f) {
            boolean[] done = new boolean[x.length];
            for (int i = 0; i < seenCount; i++) {
                int id = seen[i];
                if (done[id]) continue;
                done[id] = true;
                x[id] = x[id] < 0 ? x[id] * config.repetitionPenalty() : x[id] / config.repetitionPenalty();
            }
        }
        if (!config.sample()) {
            return argmax(x);
        }
        for (int i = 0; i < x.length; i++) x[i] /= config.temperature();
        int[] order = byLogitDescending(x);                       // most likely first, ties by lower id
        int keep = order.length;
        if (config.topK() > 0) keep = Math.min(keep, config.topK());
        double max = x[order[0]];
        double[] p = new double[keep];
        double total = 0;
        for (int i = 0; i < keep; i++) {
            p[i] = Math.exp(x[order[i]] - max);
            total += p[i];
        }
        if (config.topP() < 1f) {                                 // smallest prefix whose mass reaches top-p
            double cumulative = 0;
            int cut = keep;
            for (int i = 0; i < keep; i++) {
                cumulative += p[i] / total;
                if (cumulative >= config.topP()) {
                    cut = i + 1;
                    break;
                }
            }
            keep = cut;
            total = 0;
            for (int i = 0; i < keep; i++) total += p[i];
        }
        double u = random.nextDouble() * total;
        for (int i = 0; i < keep; i++) {
            u -= p[i];
            if (u < 0) return order[i];
        }
        return order[keep - 1];
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) best = i;
        }
        return best;
    }

    /** Token ids by falling logit (ties: lower id first), sorted as primitive keys: no boxing per token. */
    private static int[] byLogitDescending(float[] x) {
        long[] keys = new long[x.length];
        for (int i = 0; i < x.length; i++) {
            int bits = Float.floatToIntBits(x[i]);
            int ascending = bits ^ ((bits >> 31) & 0x7FFFFFFF);   // orders like the float value
            keys[i] = ((long) ~ascending << 32) | i;                // high half falls as the logit rises
        }
        Arrays.sort(keys);
        int[] order = new int[x.length];
        for (int i = 0; i < x.length; i++) order[i] = (int) keys[i];
        return order;
    }
}
