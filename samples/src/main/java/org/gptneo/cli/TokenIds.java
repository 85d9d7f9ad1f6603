package org.gptneo.cli;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Token ids on the command line, the one meaning of {@code --ids} in every command: ids separated
 * by ',', rows separated by ';' ({@code "1,2,3;4,5"}), spaces around either allowed, and one pair of
 * brackets around a row allowed, so a JSON array printed by {@code gptneo tokenize} is accepted as is.
 * Ids may be negative ({@code -100} is the label PyTorch ignores): whether an id suits a model is
 * the model's check, not the parser's. Out: {@code [1,2,3]}, one line of JSON.
 */
final class TokenIds {
    private static final String SYNTAX = "(ids are separated by ',', rows by ';')";

    private TokenIds() {}

    /** One or more rows, none of them empty: "1,2,3;4,5" → {{1,2,3},{4,5}}. */
    static int[][] rows(String option, String text) {
        int[][] rows = parse(option, text);
        for (int r = 0; r < rows.length; r++) {
            if (rows[r].length == 0) {
                throw new IllegalArgumentException(rows.length == 1 ? option + " is empty: give at least one token id"
                        : option + ": row " + (r + 1) + " is empty " + SYNTAX);
            }
        }
        return rows;
    }

    /** Exactly one row, which may be empty ("" and "[]" are the empty list). */
    static int[] row(String option, String text) {
        int[][] rows = parse(option, text);
        if (rows.length != 1) {
            throw new IllegalArgumentException(option + ": expected one row of ids, got " + rows.length + " rows " + SYNTAX);
        }
        return rows[0];
    }

    /** Rows of one length, as a [B, T] tensor needs them. */
    static void requireEqualLengths(String option, int[][] rows) {
        for (int r = 1; r < rows.length; r++) {
            if (rows[r].length != rows[0].length) {
                throw new IllegalArgumentException(option + ": row " + (r + 1) + " has " + rows[r].length + " ids but row 1 has "
                        + rows[0].length + " (rows must have equal length)");
            }
        }
    }

    /** Where an id is, for messages: "position 2", or "row 2, position 3" when there are several rows. */
    static String where(int[][] rows, int row, int position) {
        return rows.length == 1 ? "position " + (position + 1) : "row " + (row + 1) + ", position " + (position + 1);
    }

    /** {1, 2, 3} → "[1,2,3]": one line of JSON. */
    static String json(int[] ids) {
        return Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(",", "[", "]"));
    }

    private static int[][] parse(String option, String text) {
        String[] rowTexts = text.split(";", -1);
        int[][] rows = new int[rowTexts.length][];
        for (int r = 0; r < rowTexts.length; r++) {
            String row = rowTexts[r].strip();
            if (row.startsWith("[") && row.endsWith("]")) {
                row = row.substring(1, row.length() - 1).strip();
            }
            if (row.isEmpty()) {
                rows[r] = new int[0];
                continue;
            }
            String[] tokens = row.split(",", -1);
            rows[r] = new int[tokens.length];
            for (int c = 0; c < tokens.length; c++) {
                String token = tokens[c].strip();
                try {
                    rows[r][c] = Integer.parseInt(token);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(option + ": '" + token + "' ("
                            + (rowTexts.length == 1 ? "" : "row " + (r + 1) + ", ") + "position " + (c + 1)
                            + ") is not an integer token id " + SYNTAX);
                }
            }
        }
        return rows;
    }
}
