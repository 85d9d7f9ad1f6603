package org.gptneo.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.lora.LoRA;
import org.gptneo.lora.LoraAdapter;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * A LoRA adapter folder in PEFT's layout, so adapters move between this library and Python's
 * {@code PeftModel.from_pretrained}: {@code adapter_config.json} (PEFT's LoraConfig keys, see
 * {@link AdapterConfig}) and {@code adapter_model.safetensors}, F32 tensors named
 * {@code base_model.model.transformer.h.<i>.attn.attention.q_proj.lora_A.weight} [r, in] and
 * {@code ...lora_B.weight} [out, r] (mlp ones {@code base_model.model.transformer.h.<i>.mlp.c_fc.lora_A.weight}).
 *
 * <p>Saving writes the weights, then the config, each complete under a temporary name and renamed
 * into place (as {@link HfCheckpoint} does), so neither file is ever half-written. Loading reads
 * stored F32, F16 or BF16 tensors; names with PEFT's in-memory adapter segment
 * ({@code .lora_A.default.weight}, as a raw {@code state_dict()} has them) are accepted as the
 * saved names. Every problem is a one-line {@link CheckpointException} naming the file: a config
 * key this library does not implement, a missing or unexpected tensor, a shape that disagrees with
 * {@code r} and the model, a non-finite value.
 */
public final class AdapterCheckpoint {
    public static final String CONFIG = "adapter_config.json";
    public static final String WEIGHTS = "adapter_model.safetensors";

    private AdapterCheckpoint() {}

    /** {@link #save(LoraAdapter, Path, String)} with {@code base_model_name_or_path} null. */
    public static List<Path> save(LoraAdapter adapter, Path dir) {
        return save(adapter, dir, null);
    }

    /**
     * Writes the adapter's config and tensors into {@code dir} (created if needed).
     *
     * @param baseModelNameOrPath what {@code base_model_name_or_path} records (a hub id or a folder), or null
     * @return the files written, weights first
     * @throws CheckpointException if a file cannot be written
     */
    public static List<Path> save(LoraAdapter adapter, Path dir, String baseModelNameOrPath) {
        String configText;
        try {
            configText = HfConfig.JSON.writerWithDefaultPrettyPrinter()
                    .writeValueAsString(new AdapterConfig(adapter.config(), baseModelNameOrPath).toJson()) + "\n";
        } catch (JsonProcessingException e) {
            throw new CheckpointException(CONFIG + ": cannot write: " + e.getOriginalMessage(), e);
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new CheckpointException(dir + ": cannot create: " + SafeTensorsFile.describe(e), e);
        }
        Path weights = dir.resolve(WEIGHTS), config = dir.resolve(CONFIG);
        Backend backend = adapter.model().backend();
        try (Arena staging = Arena.ofConfined()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            adapter.parameters().forEach((name, v) -> tensors.put(name, backend.download(v.value(), staging)));
            SafeTensorsWriter.write(weights, tensors, Map.of("format", "pt"));
        }
        try {
            HfCheckpoint.writeAtomically(config, configText);
        } catch (IOException e) {
            throw new CheckpointException(CONFIG + ": cannot write: " + SafeTensorsFile.describe(e), e);
        }
        return List.of(weights, config);
    }

    /**
     * Reads an adapter folder and attaches it to {@code model} (see {@link LoRA#apply}: the base is
     * frozen, the adapter unmerged). On any error nothing stays attached.
     *
     * @throws CheckpointException if the folder, its config or its tensors are missing, malformed,
     *     unsupported or do not fit the model
     * @throws IllegalStateException if the model already carries an adapter
     */
    public static LoraAdapter load(GptNeoModel model, Path dir) {
        Path configFile = dir.resolve(CONFIG), weightsFile = dir.resolve(WEIGHTS);
        if (!Files.isRegularFile(configFile)) {
            throw new CheckpointException(dir + ": no " + CONFIG + " (not a PEFT adapter folder)");
        }
        AdapterConfig config = AdapterConfig.read(configFile);
        if (!Files.isRegularFile(weightsFile)) {
            boolean bin = Files.exists(dir.resolve("adapter_model.bin"));
            throw new CheckpointException(dir + ": no " + WEIGHTS
                    + (bin ? " (adapter_model.bin is not read: save with safe_serialization=True)" : ""));
        }
        try (SafeTensorsFile file = SafeTensorsFile.open(weightsFile)) {
            Map<String, String> stored = savedNames(file);
            LoraAdapter adapter = config.lora().apply(model);
            try {
                fill(adapter, file, stored, config.lora());
                return adapter;
            } catch (RuntimeException | Error e) {
                adapter.close();
                throw e;
            }
        }
    }

    /** Saved name (without PEFT's {@code .default} adapter segment) → the name in the file. */
    private static Map<String, String> savedNames(SafeTensorsFile file) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String name : file.names()) {
            String saved = name.replace(".lora_A.default.weight", ".lora_A.weight").replace(".lora_B.default.weight", ".lora_B.weight");
            String previous = out.putIfAbsent(saved, name);
            if (previous != null) {
                throw new CheckpointException(WEIGHTS + ": tensors '" + printable(previous) + "' and '" + printable(name)
                        + "' are both '" + printable(saved) + "'");
            }
        }
        return out;
    }

    /** Checks that the file holds exactly the adapter's tensors, with its shapes, and copies them in. */
    private static void fill(LoraAdapter adapter, SafeTensorsFile file, Map<String, String> stored, LoRA lora) {
        Map<String, Var> parameters = adapter.parameters();
        for (String name : stored.keySet()) {
            if (!parameters.containsKey(name)) {
                throw new CheckpointException(WEIGHTS + ": unexpected tensor '" + printable(stored.get(name)) + "' for target_modules "
                        + lora.targets() + " on a " + adapter.model().config().layers() + "-layer GPT-Neo");
            }
        }
        for (Map.Entry<String, Var> e : parameters.entrySet()) {
            String name = stored.get(e.getKey());
            if (name == null) {
                throw new CheckpointException(WEIGHTS + ": missing tensor '" + e.getKey() + "' (target_modules " + lora.targets() + ")");
            }
            long[] shape = file.shape(name);
            int[] expected = e.getValue().shape();
            if (!Arrays.equals(shape, Arrays.stream(expected).asLongStream().toArray())) {
                throw new CheckpointException(WEIGHTS + ": tensor '" + printable(name) + "' has shape " + Arrays.toString(shape)
                        + " but r=" + lora.rank() + " and the model imply " + Arrays.toString(expected));
            }
            String dtype = file.dtypeName(name);
            if (!dtype.equals("F32") && !dtype.equals("F16") && !dtype.equals("BF16")) {
                throw new CheckpointException(WEIGHTS + ": tensor '" + printable(name) + "' has dtype " + dtype
                        + "; adapter tensors must be F32, F16 or BF16");
            }
        }
        Backend backend = adapter.model().backend();
        for (Map.Entry<String, Var> e : parameters.entrySet()) {
            String name = stored.get(e.getKey());
            try (Arena staging = Arena.ofConfined()) {
                Tensor host = file.tensor(name);
                Tensor f32 = host.dtype() == DType.F32 ? host : host.to(staging, DType.F32);
                for (long i = 0; i < f32.size(); i++) {
                    if (!Float.isFinite(f32.getFloat(i))) {
                        throw new CheckpointException(WEIGHTS + ": tensor '" + printable(name) + "' holds " + f32.getFloat(i)
                                + " at element " + i);
                    }
                }
                backend.copy(backend.upload(f32, staging), e.getValue().value());
            }
        }
    }

    private static String printable(String s) {
        return HfCheckpoint.printable(s);
    }
}
