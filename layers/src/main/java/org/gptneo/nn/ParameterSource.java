package org.gptneo.nn;

/**
 * Where layers get their parameters when a model is assembled: freshly initialised, taken from a
 * loaded checkpoint, or only recorded (to list names and shapes without allocating). Layers ask
 * for each parameter by its full name, in checkpoint order.
 */
public interface ParameterSource {

    /** How a fresh parameter is initialised (Hugging Face's GPT-Neo scheme). */
    enum Init {
        /** N(0, initializer_range²): weights and embeddings. */
        NORMAL,
        /** 0: biases. */
        ZEROS,
        /** 1: LayerNorm weights. */
        ONES
    }

    /**
     * The parameter {@code name} of this shape.
     *
     * @param halfPrecisionAllowed whether it may be stored in BF16/F16/Q8 (weight matrices and
     *                             embeddings may, vectors may not)
     */
    Parameter take(String name, int[] shape, Init init, boolean halfPrecisionAllowed);
}
