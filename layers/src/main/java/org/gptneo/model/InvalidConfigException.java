package org.gptneo.model;

/** A model configuration that breaks a rule; the message names the field and the rule. */
public final class InvalidConfigException extends IllegalArgumentException {
    public InvalidConfigException(String message) {
        super(message);
    }
}
