package org.gptneo.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.gptneo.backend.Backend;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.Tensor;

/**
 * A Hugging Face model folder: {@code config.json} + {@code model.safetensors} (F32, the tied LM head
 * stored once as {@code transformer.wte.weight}), the layout {@code GPTNeoForCausalLM.from_pretrained}
 * reads.
 */
public final class HfCheckpoint {
    public static final String CONFIG = "config.json";
    public static final String WEIGHTS = "model.safetensors";

    private HfCheckpoint() {}

    /** Writes config.json and model.safetensors into {@code dir} (created if needed), each atomically. */
    public static void save(GptNeoModel model, Path dir) {
        try {
            Files.createDirectories(dir);
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            model.parameters().forEach((name, p) -> tensors.put(name, p.value()));
            SafeTensorsWriter.write(dir.resolve(WEIGHTS), tensors, Map.of("format", "pt"));
            writeAtomically(dir.resolve(CONFIG), HfConfig.JSON.writerWithDefaultPrettyPrinter()
                    .writeValueAsString(HfConfig.toJson(model.config())) + "\n");
        } catch (JsonProcessingException e) {
            throw new CheckpointException(CONFIG + ": cannot write: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new CheckpointException(dir + ": cannot write: " + e.getMessage(), e);
        }
    }

    /** Reads a model folder: every parameter present with the configured shape, converted to F32. */
    public static GptNeoModel load(Path dir, Backend backend) {
        Path configFile = dir.resolve(CONFIG);
        if (!Files.isRegularFile(configFile)) {
            throw new CheckpointException(dir + ": no " + CONFIG + " (not a Hugging Face model folder)");
        }
        GptNeoConfig config = HfConfig.read(configFile);
        Path weights = dir.resolve(WEIGHTS);
        if (!Files.isRegularFile(weights)) {
            throw new CheckpointException(dir + ": no " + WEIGHTS);
        }
        try (SafeTensorsFile file = SafeTensorsFile.open(weights)) {
            Map<String, String> names = checkpointNames(file, config);
            return GptNeoModel.create(config, backend, (name, zeroed) -> {
                String stored = names.get(name);
                long[] shape = file.shape(stored);
                if (!Arrays.equals(shape, Arrays.stream(zeroed.shape()).asLongStream().toArray())) {
                    throw new CheckpointException(WEIGHTS + ": tensor '" + stored + "' has shape " + Arrays.toString(shape)
                            + " but config.json implies " + Arrays.toString(zeroed.shape()));
                }
                zeroed.copyFrom(file.tensor(stored));
            });
        }
    }

    /**
     * Maps each parameter name to its name in the file (with or without the {@code transformer.}
     * prefix), skipping the old attention-mask buffers and a tied {@code lm_head.weight}.
     */
    private static Map<String, String> checkpointNames(SafeTensorsFile file, GptNeoConfig config) {
        Map<String, int[]> expected = GptNeoModel.parameterShapes(config);
        Map<String, String> found = new LinkedHashMap<>();
        for (String stored : file.names()) {
            String name = stored.startsWith("transformer.") || stored.startsWith("lm_head.") ? stored : "transformer." + stored;
            if (name.endsWith(".attn.attention.bias") || name.endsWith(".attn.attention.masked_bias")
                    || name.endsWith(".attn.bias") || name.endsWith(".attn.masked_bias") || name.equals("lm_head.weight")) {
                continue;
            }
            if (!expected.containsKey(name)) {
                throw new CheckpointException(WEIGHTS + ": unexpected tensor '" + stored + "' for a "
                        + config.layers() + "-layer GPT-Neo");
            }
            found.put(name, stored);
        }
        for (String name : expected.keySet()) {
            if (!found.containsKey(name)) {
                throw new CheckpointException(WEIGHTS + ": missing tensor '" + name + "'");
            }
        }
        return found;
    }

    static void writeAtomically(Path target, String text) throws IOException {
        Path temp = Files.createTempFile(target.toAbsolutePath().getParent(), "." + target.getFileName(), ".tmp");
        try {
            Files.writeString(temp, text, StandardCharsets.UTF_8);
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temp);
        }
    }
}
