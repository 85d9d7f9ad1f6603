package org.gptneo.backend;

/**
 * Which keys a query may see. Scores have shape [..., T, S]: T queries (the newest tokens) against S
 * keys (cached ones first), so query row i sits at absolute position {@code S - T + i}.
 *
 * <ul>
 *   <li>global: key j is visible iff j ≤ position(i);
 *   <li>local with window w: visible iff position(i) − w &lt; j ≤ position(i) (w keys including itself).
 * </ul>
 * Hidden scores are replaced (not offset) by the float32 minimum before the softmax, as GPT-Neo does.
 *
 * @param window 0 for global attention, else the local window w ≥ 1
 */
public record AttentionMask(int window) {
    public static final AttentionMask GLOBAL = new AttentionMask(0);

    public AttentionMask {
        if (window < 0) {
            throw new IllegalArgumentException("window must be 0 (global) or ≥ 1, got " + window);
        }
    }

    public static AttentionMask local(int window) {
        if (window < 1) {
            throw new IllegalArgumentException("local window must be ≥ 1, got " + window);
        }
        return new AttentionMask(window);
    }

    public boolean isLocal() {
        return window > 0;
    }

    /** True when the query at absolute position {@code query} may see the key at {@code key}. */
    public boolean visible(int query, int key) {
        return key <= query && (window == 0 || key > query - window);
    }
}
