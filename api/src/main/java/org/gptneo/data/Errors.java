package org.gptneo.data;

/** Turns causes into the one-line messages of {@link DatasetException}. */
final class Errors {
    private Errors() {}

    /** The first line of {@code e}'s message (its class name when it has none). */
    static String oneLine(Throwable e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : firstLine(e.getMessage());
    }

    /** The first line of {@code message}. */
    static String firstLine(String message) {
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
