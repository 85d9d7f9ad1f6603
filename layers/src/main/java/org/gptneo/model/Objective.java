package org.gptneo.model;

import java.util.Locale;

/** What a model is trained to predict (config.json's {@code objective}). */
public enum Objective {
    /** The next token; causal attention, and the loss shifts labels left by one (Hugging Face). */
    CAUSAL_LM,
    /** Masked tokens (BERT): bidirectional attention, loss on the labelled positions, no shift. */
    MASKED_LM;

    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Objective fromConfigName(String name) {
        for (Objective o : values()) {
            if (o.configName().equals(name)) {
                return o;
            }
        }
        throw new IllegalArgumentException("objective '" + name + "' is not one of causal_lm, masked_lm");
    }
}
