package org.gptneo.model;

/** The MLP's activation function, by its Hugging Face name. */
public enum Activation {
    /** 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), what every GPT-Neo checkpoint was trained with. */
    GELU_NEW("gelu_new");

    private final String configName;

    Activation(String configName) {
        this.configName = configName;
    }

    public String configName() {
        return configName;
    }

    /** Parses a Hugging Face activation name; unsupported names are an error that lists the supported ones. */
    public static Activation fromConfigName(String name) {
        for (Activation a : values()) {
            if (a.configName.equals(name)) {
                return a;
            }
        }
        throw new IllegalArgumentException("activation '" + name + "' is not supported (supported: gelu_new)");
    }
}
