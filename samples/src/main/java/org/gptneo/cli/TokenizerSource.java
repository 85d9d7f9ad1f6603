package org.gptneo.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import picocli.CommandLine.Option;

/**
 * The tokenizer of tokenize and detokenize, an optional exclusive group: --model DIR (the folder's
 * tokenizer files, else GPT-2's built-in tokenizer; the folder need not hold a model), or --preset /
 * --config (the model they describe uses the built-in tokenizer). None of them: the built-in one.
 */
final class TokenizerSource {
    @Option(names = "--model", paramLabel = "DIR",
            description = "A model folder whose tokenizer to use: its tokenizer.json, else vocab.json + merges.txt,"
                    + " else GPT-2's built-in tokenizer (also the one used without --model).")
    Path model;

    @Option(names = "--preset", paramLabel = "NAME",
            description = "A named shape (its models use GPT-2's built-in tokenizer): 125M, 350M, 760M, 1.3B, 2.7B,"
                    + " 6.7B, 13B or 175B.")
    String preset;

    @Option(names = "--config", paramLabel = "FILE",
            description = "A model file or Hugging Face config.json (its random-weight models use GPT-2's built-in"
                    + " tokenizer); the file is checked.")
    Path config;

    /** The tokenizer of {@code source}, which may be null (no option given). */
    static Gpt2Tokenizer tokenizer(TokenizerSource source) {
        return source == null ? Gpt2Tokenizer.builtIn() : source.tokenizer();
    }

    Gpt2Tokenizer tokenizer() {
        if (model == null) {
            ShapeSource.shape(preset, config);   // a typo in a preset name or a broken file is still an error
            return Gpt2Tokenizer.builtIn();
        }
        if (!Files.exists(model)) {
            throw new IllegalArgumentException(model + ": no such model folder");
        }
        return Gpt2Tokenizer.fromFolder(model);
    }
}
