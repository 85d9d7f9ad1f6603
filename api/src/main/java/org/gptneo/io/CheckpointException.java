package org.gptneo.io;

/**
 * A checkpoint file that cannot be read or written: malformed, inconsistent, unsupported, or an I/O
 * failure. The message is one line that names the file and what is wrong.
 */
public class CheckpointException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** A failure described by {@code message} (one line, naming the file). */
    public CheckpointException(String message) {
        super(message);
    }

    /** A failure described by {@code message} (one line, naming the file), caused by {@code cause}. */
    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
