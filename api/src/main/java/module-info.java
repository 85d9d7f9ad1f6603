/**
 * GPT-Neo for the JVM: the one dependency users add. Start at {@link org.gptneo.GptNeo}. Checkpoints
 * and model files ({@code org.gptneo.io}), the GPT-2 tokenizer and generation live here.
 */
module org.gptneo.api {
    requires transitive org.gptneo.layers;
    requires transitive org.gptneo.presets;
    requires com.fasterxml.jackson.databind;
    requires com.fasterxml.jackson.dataformat.yaml;
    requires jtokkit;

    exports org.gptneo;
    exports org.gptneo.io;
    exports org.gptneo.tokenizer;
    exports org.gptneo.generate;
    exports org.gptneo.train;
}
