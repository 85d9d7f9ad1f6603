package org.gptneo.cli;

import java.util.Arrays;
import java.util.stream.Collectors;

/** Lists of token ids on the command line: "1,2,3" in, "[1,2,3]" out. */
final class TokenIds {
    private TokenIds() {}

    /**
     * "1,2,3" → {1, 2, 3}. Spaces around ids and one pair of enclosing brackets are allowed, so a
     * JSON array printed by {@code gptneo tokenize} is accepted too; "" and "[]" are the empty list.
     *
     * @param option the option's name, for the error message
     */
    static int[] parse(String option, String text) {
        String s = text.strip();
        if (s.startsWith("[") && s.endsWith("]")) {
            s = s.substring(1, s.length() - 1).strip();
        }
        if (s.isEmpty()) {
            return new int[0];
        }
        String[] parts = s.split(",", -1);
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            String token = parts[i].strip();
            try {
                ids[i] = Integer.parseInt(token);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(option + ": '" + token + "' (position " + (i + 1)
                        + ") is not an integer token id (ids are separated by ',')");
            }
        }
        return ids;
    }

    /** {1, 2, 3} → "[1,2,3]": one line of JSON. */
    static String json(int[] ids) {
        return Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(",", "[", "]"));
    }
}
