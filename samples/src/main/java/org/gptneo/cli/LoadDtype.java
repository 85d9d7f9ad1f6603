package org.gptneo.cli;

import java.util.Locale;
import org.gptneo.tensor.DType;

/**
 * The {@code --dtype f32|bf16|q8} of commands that load weights for inference ({@code generate},
 * {@code perplexity}, {@code bench}): the dtype of the weight matrices and embeddings in memory.
 */
final class LoadDtype {
    static final String LABEL = "f32|bf16|q8";
    static final String DESCRIPTION = "The weight matrices' and embeddings' dtype in memory (default: ${DEFAULT-VALUE}):"
            + " bf16 halves an F32 checkpoint's memory, q8 (8-bit blocks of 32 with a scale each) cuts it to 0.28.";

    private LoadDtype() {}

    /** The dtype {@code value} names, or null when it names none. */
    static DType named(String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "f32" -> DType.F32;
            case "bf16" -> DType.BF16;
            case "q8" -> DType.Q8;
            default -> null;
        };
    }

    static String error(String value) {
        return "--dtype must be f32, bf16 or q8, got '" + value + "'";
    }
}
