package org.gptneo.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * Converts checkpoints to the Hugging Face safetensors layout (what {@code gptneo convert} runs).
 *
 * <ul>
 *   <li>a model folder in any layout {@link HfCheckpoint} loads (pytorch_model.bin, its sharded
 *       index, or safetensors to re-shard or change dtype) → config.json + safetensors in
 *       {@code targetDir}; config.json keeps the source's extra keys (tokenizer ids,
 *       task_specific_params, ...) and gets normalised architectural keys;</li>
 *   <li>a single weights file ({@code .bin}/{@code .pt}/{@code .pth} torch zip, or
 *       {@code .safetensors}) with a config.json or a model file (given, or the config.json next
 *       to the file) → the same;</li>
 *   <li>a mesh-tf JSON config (a {@code .json} with n_embd/n_layer) → config.json only: there are
 *       no weights to convert (see {@link MeshTfConfig} for the mapping and n_vocab).</li>
 * </ul>
 *
 * Weights stream from source to target without building a model: a mapped safetensors tensor is
 * written from the mapping, a .bin tensor is copied off-heap for the shard being written and freed
 * after it, so at most one shard is held in memory (never the whole model, never the Java heap).
 * {@code targetDir} may be the source folder (the .bin files are then left next to the new files).
 */
public final class Converter {
    /**
     * What a conversion did.
     *
     * @param config  the model configuration written
     * @param written the files written (weights, index, config.json)
     * @param weights false for a config-only (mesh-tf) conversion
     */
    public record Result(GptNeoConfig config, List<Path> written, boolean weights) {}

    private Converter() {}

    /** {@code convert(source, null, targetDir, options)}. */
    public static Result convert(Path source, Path targetDir, SaveOptions options) {
        return convert(source, null, targetDir, options);
    }

    /**
     * Converts {@code source} (a model folder, a weights file, or a mesh-tf config JSON) into a
     * Hugging Face safetensors folder {@code targetDir}.
     *
     * @param configFile the configuration of a single weights file (null: the config.json next to
     *                   it): a Hugging Face config.json or a model file (see {@link ConfigFile}); must
     *                   be null for folders and mesh-tf configs
     * @throws CheckpointException naming the file when the source cannot be read or converted
     */
    public static Result convert(Path source, Path configFile, Path targetDir, SaveOptions options) {
        if (Files.isDirectory(source)) {
            if (configFile != null) {
                throw new IllegalArgumentException("a model folder brings its own config.json; pass no config file");
            }
            return convertWeights(source.resolve(HfCheckpoint.CONFIG), () -> WeightSource.openFolder(source), targetDir, options);
        }
        if (!Files.isRegularFile(source)) {
            throw new CheckpointException(source + ": no such file or folder");
        }
        String name = SafeTensorsFile.label(source);
        if (name.endsWith(".json")) {
            if (configFile != null) {
                throw new IllegalArgumentException(name + " is a config; pass no config file");
            }
            JsonNode root;
            try {
                root = HfConfig.JSON.readTree(source.toFile());
            } catch (IOException e) {
                throw new CheckpointException(name + ": not readable JSON (" + HfConfig.firstLine(e.getMessage()) + ")", e);
            }
            if (!MeshTfConfig.looksLike(root)) {
                throw new CheckpointException(name + ": not a mesh-tf config (no n_embd or n_layer key)");
            }
            GptNeoConfig config = MeshTfConfig.read(source);
            return new Result(config, List.of(HfCheckpoint.writeConfig(config, targetDir)), false);
        }
        Path config = configFile != null ? configFile : source.toAbsolutePath().resolveSibling(HfCheckpoint.CONFIG);
        return convertWeights(config, () -> WeightSource.openFile(source), targetDir, options);
    }

    private static Result convertWeights(Path configFile, Supplier<WeightSource> opener, Path targetDir, SaveOptions options) {
        if (!Files.isRegularFile(configFile)) {
            throw new CheckpointException(configFile + ": no such config.json (a weights file needs one)");
        }
        // a config.json keeps its extra keys; a model file (or mesh-tf config) given with --config has none to keep
        boolean hf = ConfigFile.format(configFile) == ConfigFile.Format.HF_CONFIG;
        GptNeoConfig config = hf ? HfConfig.read(configFile) : ConfigFile.read(configFile);
        ObjectNode json = hf ? mergedConfig(configFile, config) : HfConfig.toJson(config);
        try (WeightSource source = opener.get()) {
            Map<String, String> stored = HfCheckpoint.checkedNames(config, source);
            Map<String, int[]> shapes = GptNeoModel.parameterShapes(config);
            HfCheckpoint.TensorStream tensors = new HfCheckpoint.TensorStream(shapes,
                    (name, staging) -> {
                        String storedName = stored.get(name);
                        Tensor view = source.view(storedName);            // mapped safetensors: no copy
                        if (view != null) return view;
                        Tensor copy = Tensor.allocate(staging, DType.F32, shapes.get(name));
                        source.copyInto(storedName, copy);
                        return copy;
                    });
            List<Path> written = HfCheckpoint.save(tensors, targetDir, options, json);
            return new Result(config, written, true);
        }
    }

    /** The source config.json with its architectural keys replaced by the normalised ones. */
    private static ObjectNode mergedConfig(Path configFile, GptNeoConfig config) {
        ObjectNode out = HfConfig.JSON.createObjectNode();
        try {
            JsonNode original = HfConfig.JSON.readTree(configFile.toFile());
            if (original != null && original.isObject()) {
                out.setAll((ObjectNode) original);
            }
        } catch (IOException e) {
            throw new CheckpointException(configFile.getFileName() + ": not readable JSON (" + HfConfig.firstLine(e.getMessage()) + ")", e);
        }
        out.remove(List.of("num_hidden_layers", "num_attention_heads"));
        out.setAll(HfConfig.toJson(config));
        return out;
    }
}
