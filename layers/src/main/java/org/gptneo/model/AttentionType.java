package org.gptneo.model;

import java.util.Locale;

/** The attention of one layer, by its name in configuration files. */
public enum AttentionType {
    /** Every earlier token (causal). */
    GLOBAL,
    /** The last {@code window} tokens including the current one. */
    LOCAL,
    /** Every earlier token through a feature-map product (linear in T, O(1) per generated token). */
    LINEAR,
    /** No attention: the block is only its feed-forward half. */
    NONE;

    /** The lower-case name used in config.json ("global", "local", "linear", "none"). */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses "global", "local", "linear" or "none"; any other name is an error that names it. */
    public static AttentionType fromConfigName(String name) {
        for (AttentionType t : values()) {
            if (t.configName().equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("attention type '" + name + "' is not supported (use global, local, linear or none)");
    }
}
