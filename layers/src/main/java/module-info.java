/**
 * Tensors, the backend SPI and the CPU backend, autograd, layers, the GPT-Neo model and its
 * checkpoint formats.
 */
module org.gptneo.layers {
    requires jdk.incubator.vector;
    requires jdk.management;
    requires com.fasterxml.jackson.databind;
    requires com.fasterxml.jackson.dataformat.yaml;
    requires jtokkit;

    exports org.gptneo.tensor;
    exports org.gptneo.backend;
    exports org.gptneo.backend.cpu;
    exports org.gptneo.autograd;
    exports org.gptneo.model;
    exports org.gptneo.nn;
    exports org.gptneo.io;
    exports org.gptneo.tokenizer;
    exports org.gptneo.generate;

    uses org.gptneo.backend.BackendProvider;
    provides org.gptneo.backend.BackendProvider with org.gptneo.backend.cpu.CpuBackendProvider;
}
