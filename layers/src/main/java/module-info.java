/**
 * The compute engine: tensors, the backend SPI and the CPU backend, autograd, layers, optimizers,
 * the GPT-Neo model assembled from layers and its inference state. No IO, JSON or tokenizer here.
 */
module org.gptneo.layers {
    requires jdk.incubator.vector;
    requires jdk.management;

    exports org.gptneo.tensor;
    exports org.gptneo.backend;
    exports org.gptneo.backend.cpu;
    exports org.gptneo.autograd;
    exports org.gptneo.model;
    exports org.gptneo.nn;
    exports org.gptneo.lora;

    uses org.gptneo.backend.BackendProvider;
    provides org.gptneo.backend.BackendProvider with org.gptneo.backend.cpu.CpuBackendProvider;
}
