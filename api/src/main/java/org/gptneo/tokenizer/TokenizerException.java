package org.gptneo.tokenizer;

/**
 * A tokenizer that cannot be built or used as asked: malformed or inconsistent tokenizer files, or a
 * token id outside the vocabulary. The message is one line; for files it names the file and what is
 * wrong.
 */
public class TokenizerException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    /** A failure described by {@code message} (one line). */
    public TokenizerException(String message) {
        super(message);
    }

    /** A failure described by {@code message} (one line), caused by {@code cause}. */
    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
