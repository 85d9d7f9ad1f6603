package org.gptneo.nn;

import org.gptneo.backend.DropoutHash;

/**
 * The routing decisions of one mixture-of-experts layer for one pass, made on the host from the gate
 * probabilities [N, E] (a GPU backend would make them on the device; the data movement they drive is
 * backend ops either way). Tokens are x's N rows, cut into consecutive groups of {@code groupSize}
 * (the last may be shorter), each with its own capacity. Per token: first choice = argmax of the
 * probabilities, second (top-2) = argmax with the first removed, ties to the lowest expert; top-2
 * renormalises both by (g1 + g2 + 1e-9) and the pass's second-expert policy decides whether the
 * second is kept. In each group and expert, first choices take slots in token order, kept second
 * choices follow all of that expert's first choices; slots at or past the capacity are dropped.
 *
 * <p>The "random" policy keeps a second choice iff U &lt; g2 / threshold, where U =
 * {@link DropoutHash#uniform}(seed·0x9E3779B97F4A7C15 − (layer + 1), n) for token row n of the pass
 * (64-bit wrapping arithmetic): a stream no dropout site uses, since those add sites ≥ 0.
 *
 * @param choices     [N·topK]: choice j of token n is expert {@code choices[n·topK + j]}
 * @param rows        per expert, the token rows it processes, in slot order (kept assignments only)
 * @param weightSlots per expert, for each of its rows, n·topK + j: which gate weight scales it
 * @param assignments assignments the policy kept, before capacity
 * @param dropped     of those, the ones over capacity
 * @param auxLoss     the load-balancing loss before the coefficient (plain mean over groups)
 * @param auxWeights  [N·E]: the aux loss times the coefficient is Σ auxWeights ⊙ probabilities, the
 *                    densities (before capacity) held constant
 */
record ExpertRouting(int[] choices, int[][] rows, int[][] weightSlots, long assignments, long dropped,
                     double auxLoss, float[] auxWeights) {

    /** The renormalisation epsilon of the top-2 gate weights. */
    static final float EPSILON = 1e-9f;

    /** Routes the N tokens whose gate probabilities are {@code probs} [N, E] (row-major). */
    static ExpertRouting route(float[] probs, int tokens, MoeSettings settings, boolean training, long seed, int layer) {
        int e = settings.experts(), k = settings.topK();
        int[] choices = new int[tokens * k];
        boolean[] secondKept = new boolean[tokens];
        SecondExpertPolicy policy = settings.secondPolicy(training);
        long randomSeed = seed * 0x9E3779B97F4A7C15L - (layer + 1L);
        for (int n = 0; n < tokens; n++) { // [N, E] → choices [N, k]
            int first = argmax(probs, n * e, e, -1);
            choices[n * k] = first;
            if (k == 2) {
                int second = argmax(probs, n * e, e, first);
                choices[n * k + 1] = second;
                float p1 = probs[n * e + first], p2 = probs[n * e + second];
                secondKept[n] = keepsSecond(policy, p2 / (p1 + p2 + EPSILON), settings.secondThreshold(), randomSeed, n);
            }
        }
        int[] keptExpert = new int[tokens * k], keptSlot = new int[tokens * k];   // kept assignments, in slot order
        int kept = 0;
        long assignments = 0, dropped = 0;
        int groupSize = settings.groupSize(), groups = Math.ceilDiv(tokens, groupSize);
        double auxTotal = 0;
        float[] auxWeights = new float[tokens * e];
        for (int g = 0; g < groups; g++) {
            int from = g * groupSize, to = Math.min(tokens, from + groupSize), size = to - from;
            int capacity = settings.capacity(size, training);
            int[] position = new int[e];
            for (int n = from; n < to; n++) {                       // first choices in token order
                int expert = choices[n * k];
                assignments++;
                if (position[expert]++ < capacity) {
                    keptExpert[kept] = expert;
                    keptSlot[kept++] = n * k;
                } else {
                    dropped++;
                }
            }
            int[] firstCount = position.clone();
            for (int n = from; n < to && k == 2; n++) {             // kept second choices, after every first choice
                if (!secondKept[n]) continue;
                int expert = choices[n * k + 1];
                assignments++;
                if (position[expert]++ < capacity) {
                    keptExpert[kept] = expert;
                    keptSlot[kept++] = n * k + 1;
                } else {
                    dropped++;
                }
            }
            auxTotal += groupAux(probs, e, from, to, firstCount, auxWeights, settings.auxLossCoefficient() / groups);
        }
        int[][] rows = new int[e][], weightSlots = new int[e][];
        int[] perExpert = new int[e];
        for (int a = 0; a < kept; a++) perExpert[keptExpert[a]]++;
        for (int expert = 0; expert < e; expert++) {
            rows[expert] = new int[perExpert[expert]];
            weightSlots[expert] = new int[perExpert[expert]];
        }
        int[] filled = new int[e];
        for (int a = 0; a < kept; a++) {                            // a stable counting sort by expert
            int expert = keptExpert[a], i = filled[expert]++;
            weightSlots[expert][i] = keptSlot[a];
            rows[expert][i] = keptSlot[a] / k;
        }
        return new ExpertRouting(choices, rows, weightSlots, assignments, dropped, auxTotal / groups, auxWeights);
    }

    /** Whether the policy keeps token n's second choice of renormalised weight g2. */
    private static boolean keepsSecond(SecondExpertPolicy policy, float g2, float threshold, long randomSeed, int n) {
        return switch (policy) {
            case ALL -> true;
            case NONE -> false;
            case THRESHOLD -> g2 > threshold;
            case RANDOM -> DropoutHash.uniform(randomSeed, n) < g2 / threshold;
        };
    }

    /** Kept assignments per expert. */
    int[] keptPerExpert() {
        int[] kept = new int[rows.length];
        for (int expert = 0; expert < rows.length; expert++) kept[expert] = rows[expert].length;
        return kept;
    }

    /** Rows the experts process together: the kept assignments. */
    int keptAssignments() {
        int total = 0;
        for (int[] r : rows) total += r.length;
        return total;
    }

    /**
     * One group's aux loss E·Σ_e density[e]·proxy[e] (= mean_e(density·proxy)·E²), density from the
     * first-choice counts, proxy the mean probability; writes its weights scale·E·density[e]/S into
     * {@code auxWeights} for the group's rows.
     */
    private static double groupAux(float[] probs, int e, int from, int to, int[] firstCount, float[] auxWeights,
                                   double scale) {
        int size = to - from;
        double aux = 0;
        for (int expert = 0; expert < e; expert++) {
            double density = (double) firstCount[expert] / size, proxy = 0;
            for (int n = from; n < to; n++) proxy += probs[n * e + expert];
            aux += density * proxy / size;
            float weight = (float) (scale * e * density / size);
            for (int n = from; n < to; n++) auxWeights[n * e + expert] = weight;
        }
        return e * aux;
    }

    /** The expert of highest probability in row {@code at} .. at + e, skipping {@code excluded}; ties to the lowest. */
    private static int argmax(float[] probs, int at, int e, int excluded) {
        int best = -1;
        for (int expert = 0; expert < e; expert++) {
            if (expert != excluded && (best < 0 || probs[at + expert] > probs[at + best])) best = expert;
        }
        return best;
    }
}
