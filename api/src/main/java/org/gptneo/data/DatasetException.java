package org.gptneo.data;

/**
 * A training data source that cannot be opened, read or cached: missing, empty, malformed, of an
 * unsupported kind, or an I/O failure. The message is one line that names the file (and the line or
 * byte offset where that helps) and what is wrong.
 */
public class DatasetException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** A failure described by {@code message} (one line, naming the file). */
    public DatasetException(String message) {
        super(message);
    }

    /** A failure described by {@code message} (one line, naming the file), caused by {@code cause}. */
    public DatasetException(String message, Throwable cause) {
        super(message, cause);
    }
}
