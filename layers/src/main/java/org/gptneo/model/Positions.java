package org.gptneo.model;

/**
 * The position embedding of a model and, for axial ones, the shape [a1, a2] of its two tables.
 *
 * @param axialRows    a1 (0 unless axial)
 * @param axialColumns a2 (0 unless axial)
 */
public record Positions(PositionEmbedding kind, int axialRows, int axialColumns) {
    public static final Positions LEARNED = new Positions(PositionEmbedding.LEARNED, 0, 0);
    public static final Positions ROTARY = new Positions(PositionEmbedding.ROTARY, 0, 0);

    public static Positions axial(int rows, int columns) {
        return new Positions(PositionEmbedding.AXIAL, rows, columns);
    }

    public boolean isRotary() {
        return kind == PositionEmbedding.ROTARY;
    }
}
