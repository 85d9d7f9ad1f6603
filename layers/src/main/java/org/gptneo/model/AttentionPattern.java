package org.gptneo.model;

import java.util.ArrayList;
import java.util.List;

/**
 * One entry of the compressed {@code attention_types} list: {@code pattern} repeated {@code repeat}
 * times. [[["global","local"],12]] is global, local, global, local, ... (24 layers), not 12 globals
 * followed by 12 locals.
 */
public record AttentionPattern(List<AttentionType> pattern, int repeat) {
    public AttentionPattern {
        pattern = List.copyOf(pattern);
        if (pattern.isEmpty()) {
            throw new IllegalArgumentException("attention pattern must name at least one attention type");
        }
        if (repeat < 1) {
            throw new IllegalArgumentException("attention pattern repeat count must be ≥ 1, got " + repeat);
        }
    }

    /** The per-layer list the compressed form stands for. */
    public static List<AttentionType> expand(List<AttentionPattern> patterns) {
        List<AttentionType> layers = new ArrayList<>();
        for (AttentionPattern p : patterns) {
            for (int i = 0; i < p.repeat; i++) {
                layers.addAll(p.pattern);
            }
        }
        return List.copyOf(layers);
    }
}
