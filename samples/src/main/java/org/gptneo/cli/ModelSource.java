package org.gptneo.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import org.gptneo.GptNeo;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.io.HfConfig;
import org.gptneo.io.LoadOptions;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.DType;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import picocli.CommandLine.Option;

/**
 * Where a command's model comes from: exactly one of --model, --preset, --config (an exclusive
 * group). --model loads a Hugging Face folder and its tokenizer; --preset and --config build a
 * randomly initialised model (seeded by the config's seed) that uses GPT-2's built-in tokenizer. A
 * run file's model section may instead give a model file's keys inline ({@link #inline}).
 */
final class ModelSource {
    @Option(names = "--model", paramLabel = "DIR",
            description = "A Hugging Face model folder (config.json + weights, optionally tokenizer files).")
    Path model;

    @Option(names = "--preset", paramLabel = "NAME", description = ShapeSource.PRESET_HELP)
    String preset;

    @Option(names = "--config", paramLabel = "FILE", description = ShapeSource.CONFIG_HELP)
    Path config;

    /** A shape given inline by a run file (no option sets it), or null. */
    GptNeoConfig inline;

    /** The preset's display name, or null when the model is not a preset. */
    String presetName() {
        return ShapeSource.presetName(preset);
    }

    /** True for --preset, --config and inline shapes: the weights are random. */
    boolean isRandom() {
        return model == null;
    }

    /** The validated configuration; allocates no weights (for --model only config.json is read). */
    GptNeoConfig config() {
        if (model != null) {
            return HfConfig.read(requireModelFolder().resolve(HfCheckpoint.CONFIG));
        }
        return inline != null ? inline : ShapeSource.shape(preset, config);
    }

    /** The weights of --model, or a randomly initialised model for --preset/--config. */
    GptNeoModel model() {
        return model(LoadOptions.defaults());
    }

    /** As {@link #model()}, loading --model's weights with {@code options}; random weights are always F32. */
    GptNeoModel model(LoadOptions options) {
        if (model != null) {
            return GptNeo.load(requireModelFolder(), options);          // on a new default backend, closed with the model
        }
        if (options.dtype() != DType.F32) {
            throw new IllegalArgumentException("random weights (--preset, --config) are F32: --dtype needs --model");
        }
        return config().toBuilder().build();
    }

    /** The tokenizer of --model's folder (else GPT-2's built-in one); the built-in one for random weights. */
    Gpt2Tokenizer tokenizer() {
        return model != null ? Gpt2Tokenizer.fromFolder(requireModelFolder()) : Gpt2Tokenizer.builtIn();
    }

    private Path requireModelFolder() {
        if (!Files.isDirectory(model)) {
            throw new IllegalArgumentException(model + ": no such model folder");
        }
        if (!Files.isRegularFile(model.resolve(HfCheckpoint.CONFIG))) {
            throw new IllegalArgumentException(model + ": no " + HfCheckpoint.CONFIG + " (not a Hugging Face model folder)");
        }
        return model;
    }
}
