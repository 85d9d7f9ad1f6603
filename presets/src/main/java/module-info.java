/** The GPT-Neo model shapes by name: 125M to 2.7B as released, and larger planning shapes. */
module org.gptneo.presets {
    requires transitive org.gptneo.layers;

    exports org.gptneo.presets;
}
