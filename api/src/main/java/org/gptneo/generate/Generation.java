package org.gptneo.generate;

/**
 * What one prompt produced.
 *
 * @param ids    the new token ids only (a final end-of-text token included when it ended the run)
 * @param text   their text (without the end-of-text token)
 * @param finish why generation stopped
 */
public record Generation(int[] ids, String text, Finish finish) {
    public enum Finish {
        /** maxNewTokens reached. */
        LENGTH,
        /** The end-of-text token was produced. */
        END_OF_TEXT,
        /** The text reached a stop string. */
        STOP_STRING
    }
}
