/**
 * GPT-Neo for the JVM: the one dependency users add. Start at {@link org.gptneo.GptNeo}. Checkpoints
 * and model files ({@code org.gptneo.io}), the GPT-2 tokenizer, generation,
 * training data ({@code org.gptneo.data}) and the trainer ({@code org.gptneo.train}) live here.
 */
module org.gptneo.api {
    requires transitive org.gptneo.layers;
    requires transitive org.gptneo.presets;
    requires transitive org.gptneo.parallel;  // TrainerBuilder.dataParallel takes a Communicator
    requires com.fasterxml.jackson.databind;
    requires com.fasterxml.jackson.dataformat.yaml;
    requires jtokkit;
    requires org.apache.arrow.vector;
    requires org.apache.arrow.memory.core;
    requires org.apache.arrow.format;
    requires org.apache.arrow.memory.unsafe; // the allocator arrow-memory-core looks up at run time

    exports org.gptneo;
    exports org.gptneo.io;
    exports org.gptneo.tokenizer;
    exports org.gptneo.generate;
    exports org.gptneo.data;
    exports org.gptneo.train;
}
