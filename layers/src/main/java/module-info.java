/**
 * Tensors, the backend SPI and the CPU backend, autograd, layers, the GPT-Neo model and its
 * checkpoint formats.
 */
module org.gptneo.layers {
    requires jdk.incubator.vector;
    requires com.fasterxml.jackson.databind;
    requires com.fasterxml.jackson.dataformat.yaml;
    requires jdk.management;

    exports org.gptneo.tensor;
}
