package org.gptneo;

import java.nio.file.Path;
import org.gptneo.backend.Backend;
import org.gptneo.backend.Backends;
import org.gptneo.io.ConfigFile;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.io.LoadOptions;
import org.gptneo.io.ModelConfigFile;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoModel;
import org.gptneo.presets.Preset;
import org.gptneo.tokenizer.Gpt2Tokenizer;

/**
 * Where to start: describe a model ({@link #builder()}), take a known shape ({@link #preset}), read
 * a model file ({@link #fromConfigFile}) or load a Hugging Face folder ({@link #load}).
 *
 * <pre>{@code
 * try (GptNeoModel model = GptNeo.preset("125M").layers(4).build()) {
 *     System.out.println(model.parameterCount());
 * }
 * }</pre>
 */
public final class GptNeo {
    private GptNeo() {}

    /** A builder with Hugging Face's GPT-Neo defaults. */
    public static GptNeoBuilder builder() {
        return GptNeoBuilder.create();
    }

    /** A builder pre-filled with a named shape: "125M", "350M", "760M", "1.3B", "2.7B", "6.7B", "13B", "175B". */
    public static GptNeoBuilder preset(String name) {
        return Preset.byName(name).builder();
    }

    public static GptNeoBuilder preset(Preset preset) {
        return preset.builder();
    }

    /**
     * A builder filled from a configuration file: a JSON or YAML model file (see
     * {@link ModelConfigFile}), a Hugging Face config.json or a mesh-tf config, told apart by their
     * keys (see {@link ConfigFile}).
     */
    public static GptNeoBuilder fromConfigFile(Path file) {
        return ConfigFile.builder(file);
    }

    /**
     * Loads a Hugging Face model folder (config.json + model.safetensors, sharded safetensors or
     * pytorch_model.bin) for inference on a new default backend (closed with the model): F32
     * safetensors weights are used straight from the memory-mapped file, without a copy.
     */
    public static GptNeoModel load(Path dir) {
        return load(dir, LoadOptions.defaults());
    }

    /**
     * Loads a Hugging Face model folder with explicit options: {@code LoadOptions.training()} for
     * writable F32 weights to fine-tune, {@code LoadOptions.defaults().withDtype(DType.BF16)} (or
     * {@code DType.Q8}, 8-bit blocks) to keep weight matrices in less memory for inference.
     */
    public static GptNeoModel load(Path dir, LoadOptions options) {
        Backend backend = Backends.defaultBackend();
        try {
            return HfCheckpoint.load(dir, backend, options).closingBackend();
        } catch (RuntimeException | Error e) {
            backend.close();
            throw e;
        }
    }

    /** The GPT-2 tokenizer of a model folder (tokenizer.json or vocab.json + merges.txt), else the built-in one. */
    public static Gpt2Tokenizer tokenizer(Path dir) {
        return Gpt2Tokenizer.fromFolder(dir);
    }
}
