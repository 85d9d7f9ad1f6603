package org.gptneo.model;

import java.util.Locale;

/** How a model knows where a token is (config.json's {@code position_embedding}). */
public enum PositionEmbedding {
    /** A learned table {@code transformer.wpe.weight} [P, C] added to the token embedding. */
    LEARNED,
    /** Two learned tables [a1, C] and [a2, C], a1·a2 = P; position p adds (E1[p / a2] + E2[p % a2]) / 2. */
    AXIAL,
    /** No table: q and k of every attention layer are rotated by their position (rotate half, base 10000). */
    ROTARY;

    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static PositionEmbedding fromConfigName(String name) {
        for (PositionEmbedding p : values()) {
            if (p.configName().equals(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("position_embedding '" + name + "' is not one of learned, axial, rotary");
    }
}
