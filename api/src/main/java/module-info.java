/** GPT-Neo for the JVM: the one dependency users add. Start at {@link org.gptneo.GptNeo}. */
module org.gptneo.api {
    requires transitive org.gptneo.layers;
    requires transitive org.gptneo.presets;

    exports org.gptneo;
}
