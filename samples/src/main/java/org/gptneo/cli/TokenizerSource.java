package org.gptneo.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import picocli.CommandLine.Option;

/** The --model option of tokenize and detokenize: a model folder's tokenizer, else GPT-2's built-in one. */
final class TokenizerSource {
    @Option(names = "--model", paramLabel = "DIR",
            description = "A model folder whose tokenizer to use: its tokenizer.json, else vocab.json + merges.txt,"
                    + " else GPT-2's built-in tokenizer (also the one used without --model).")
    Path model;

    Gpt2Tokenizer tokenizer() {
        if (model == null) {
            return Gpt2Tokenizer.builtIn();
        }
        if (!Files.exists(model)) {
            throw new IllegalArgumentException(model + ": no such model folder");
        }
        return Gpt2Tokenizer.fromFolder(model);
    }
}
