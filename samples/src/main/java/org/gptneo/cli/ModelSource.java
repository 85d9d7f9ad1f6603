package org.gptneo.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import org.gptneo.GptNeo;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.io.HfConfig;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.InvalidConfigException;
import org.gptneo.presets.Preset;
import picocli.CommandLine.Option;

/** Where a command's model comes from: exactly one of --model, --preset, --config (an exclusive group). */
final class ModelSource {
    @Option(names = "--model", paramLabel = "DIR",
            description = "A Hugging Face model folder (config.json + model.safetensors).")
    Path model;

    @Option(names = "--preset", paramLabel = "NAME",
            description = "A named shape: 125M, 350M, 760M, 1.3B, 2.7B, 6.7B, 13B or 175B.")
    String preset;

    @Option(names = "--config", paramLabel = "FILE",
            description = "A model file, JSON or YAML, with the builder's kebab-case keys (vocab-size, layers, ...).")
    Path config;

    /** The preset's display name, or null when the model is not a preset. */
    String presetName() {
        return preset == null ? null : Preset.byName(preset).displayName();
    }

    /** The validated configuration; allocates no weights (for --model only config.json is read). */
    GptNeoConfig config() {
        if (model != null) {
            return HfConfig.read(requireModelFolder().resolve(HfCheckpoint.CONFIG));
        }
        return validated(builder());
    }

    /** The weights of --model, or a randomly initialised model (seeded by the config's seed) for --preset/--config. */
    GptNeoModel model() {
        if (model != null) {
            return GptNeo.load(requireModelFolder());
        }
        GptNeoBuilder builder = builder();
        validated(builder);
        return builder.build();
    }

    /** The builder's configuration; a model file's rule violations name the file. */
    private GptNeoConfig validated(GptNeoBuilder builder) {
        try {
            return builder.config();
        } catch (InvalidConfigException e) {
            throw config == null ? e : new InvalidConfigException(config.getFileName() + ": " + e.getMessage());
        }
    }

    private GptNeoBuilder builder() {
        if (preset != null) {
            return GptNeo.preset(preset);
        }
        if (!Files.isRegularFile(config)) {
            throw new IllegalArgumentException(config + ": no such model file");
        }
        return GptNeo.fromConfigFile(config);
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
