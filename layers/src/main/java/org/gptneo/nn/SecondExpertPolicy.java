package org.gptneo.nn;

import java.util.Locale;

/** Whether a top-2 mixture of experts keeps a token's second choice (mesh-tf's second_policy). */
public enum SecondExpertPolicy {
    /** Always. */
    ALL,
    /** Never: top-2 routing that uses only the first choice (its weight still renormalised). */
    NONE,
    /** When the renormalised second weight exceeds the threshold. */
    THRESHOLD,
    /** With probability min(1, g2 / threshold): a training-only policy. */
    RANDOM;

    /** The lower-case name used in config.json. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static SecondExpertPolicy fromConfigName(String name) {
        for (SecondExpertPolicy p : values()) {
            if (p.configName().equals(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("second-expert policy '" + name + "' is not one of all, random, threshold, none");
    }
}
