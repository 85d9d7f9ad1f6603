package org.gptneo.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A small model file for CLI tests: vocabulary 300 (ids below 300 are bytes and early merges of GPT-2's tokenizer). */
final class TinyModelFile {
    static final int VOCAB = 300, CONTEXT = 32;

    private TinyModelFile() {}

    /** Writes {@code dir/tiny.yaml} (seed 42 unless given) and returns it. */
    static Path write(Path dir, String extraLines) {
        try {
            return Files.writeString(dir.resolve("tiny.yaml"), """
                    vocab-size: 300
                    context-length: 32
                    hidden-size: 16
                    layers: 2
                    heads: 2
                    attention: [[[global, local], 1]]
                    window-size: 4
                    initializer-range: 0.5
                    """ + extraLines);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path write(Path dir) {
        return write(dir, "");
    }
}
