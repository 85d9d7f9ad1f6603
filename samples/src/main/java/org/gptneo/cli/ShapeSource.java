package org.gptneo.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import org.gptneo.GptNeo;
import org.gptneo.io.ConfigFile;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.presets.Preset;
import picocli.CommandLine.Option;

/**
 * A model shape without weights: exactly one of --preset, --config (an exclusive group). What init
 * builds from; {@link ModelSource} offers the same two options beside --model.
 */
final class ShapeSource {
    static final String PRESET_HELP = "A named shape: 125M, 350M, 760M, 1.3B, 2.7B, 6.7B, 13B or 175B.";
    static final String CONFIG_HELP = "A model file (JSON or YAML with the builder's kebab-case keys: vocab-size,"
            + " layers, ...) or a Hugging Face config.json (snake_case keys: vocab_size, num_layers, ...);"
            + " the keys tell which.";

    @Option(names = "--preset", paramLabel = "NAME", description = PRESET_HELP)
    String preset;

    @Option(names = "--config", paramLabel = "FILE", description = CONFIG_HELP)
    Path config;

    GptNeoConfig shape() {
        return shape(preset, config);
    }

    /** The validated shape of a preset or a config file (errors name the file and its own keys). */
    static GptNeoConfig shape(String preset, Path config) {
        if (preset != null) {
            return GptNeo.preset(preset).config();
        }
        if (!Files.isRegularFile(config)) {
            throw new IllegalArgumentException(config + ": no such model file");
        }
        return ConfigFile.read(config);
    }

    /** The preset's display name, or null. */
    static String presetName(String preset) {
        return preset == null ? null : Preset.byName(preset).displayName();
    }
}
