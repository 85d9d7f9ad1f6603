package org.gptneo.parallel;

/** A collective that could not complete: a rank failed, disappeared or timed out; the message names it. */
public class CommunicatorException extends RuntimeException {
    public CommunicatorException(String message) {
        super(message);
    }

    public CommunicatorException(String message, Throwable cause) {
        super(message, cause);
    }
}
