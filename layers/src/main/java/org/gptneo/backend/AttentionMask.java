package org.gptneo.backend;

import java.util.Arrays;

/**
 * Which keys a query may see. Scores have shape [B, ..., T, S]: T queries (the newest tokens)
 * against S keys (cached ones first), so query row i sits at position {@code S - T + i} of the key axis.
 *
 * <ul>
 *   <li>global: key j is visible iff j ≤ position(i);
 *   <li>local with window w: visible iff position(i) − w &lt; j ≤ position(i) (w keys including itself);
 *   <li>with {@code firstKeys} (left padding): additionally j ≥ firstKeys[b] for batch row b;
 *   <li>not {@code causal} (masked language models): later keys are visible too, every one for
 *       global attention, |j − position(i)| &lt; w for local.
 * </ul>
 * Hidden scores are replaced (not offset) by the float32 minimum before the softmax, as GPT-Neo does;
 * a row with no visible key (a padding query) therefore comes out uniform, as in Hugging Face.
 *
 * @param window    0 for global attention, else the local window w ≥ 1
 * @param firstKeys null, or per batch row the first key that is not padding
 * @param causal    whether keys after the query are hidden
 */
public record AttentionMask(int window, int[] firstKeys, boolean causal) {
    public static final AttentionMask GLOBAL = new AttentionMask(0, null);

    public AttentionMask {
        if (window < 0) {
            throw new IllegalArgumentException("window must be 0 (global) or ≥ 1, got " + window);
        }
        firstKeys = firstKeys == null ? null : firstKeys.clone();
    }

    /** A causal mask. */
    public AttentionMask(int window, int[] firstKeys) {
        this(window, firstKeys, true);
    }

    public static AttentionMask local(int window) {
        if (window < 1) {
            throw new IllegalArgumentException("local window must be ≥ 1, got " + window);
        }
        return new AttentionMask(window, null);
    }

    /** The same band, with keys before {@code firstKeys[b]} hidden in batch row b (left padding). */
    public AttentionMask withFirstKeys(int[] firstKeys) {
        return new AttentionMask(window, firstKeys, causal);
    }

    /** The same band without the causal cut: queries also see the keys after them. */
    public AttentionMask bidirectional() {
        return new AttentionMask(window, firstKeys, false);
    }

    public boolean isLocal() {
        return window > 0;
    }

    /** The batch row of score matrix {@code matrix} out of {@code matrices} ([B, H] flattened). */
    public int batchRow(long matrix, long matrices) {
        return firstKeys == null ? 0 : (int) (matrix / (matrices / firstKeys.length));
    }

    /** First visible key for a query at key-axis position {@code query} in batch row {@code b}. */
    public int firstVisible(int b, int query) {
        int lo = isLocal() ? Math.max(0, query - window + 1) : 0;
        return firstKeys == null ? lo : Math.max(lo, firstKeys[b]);
    }

    /** One past the last visible key for a query at key-axis position {@code query}, of {@code keys} keys. */
    public int endVisible(int query, int keys) {
        long end = causal ? query + 1L : isLocal() ? (long) query + window : keys;
        return (int) Math.clamp(end, 0, keys);
    }

    /** True when the query at key-axis position {@code query} of batch row {@code b} may see key {@code key}. */
    public boolean visible(int b, int query, int key) {
        boolean before = causal ? key <= query : !isLocal() || key < (long) query + window;
        return before && key >= firstVisible(b, query);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AttentionMask m && m.window == window && m.causal == causal && Arrays.equals(m.firstKeys, firstKeys);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * window + Arrays.hashCode(firstKeys)) + Boolean.hashCode(causal);
    }

    @Override
    public String toString() {
        return (isLocal() ? "local(" + window + ")" : "global") + (causal ? "" : " bidirectional") + (firstKeys == null ? "" : " from " + Arrays.toString(firstKeys));
    }
}
