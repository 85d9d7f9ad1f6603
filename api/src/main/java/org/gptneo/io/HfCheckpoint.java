package org.gptneo.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.nn.Parameter;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.HugePages;
import org.gptneo.tensor.Tensor;

/**
 * A Hugging Face model folder: {@code config.json} plus the weights in any layout
 * {@code GPTNeoForCausalLM.from_pretrained} reads, and the writer of the safetensors layout.
 *
 * <h2>Loading</h2>
 * Weights are found in this order (Hugging Face's): {@code model.safetensors},
 * {@code model.safetensors.index.json} (shards), {@code pytorch_model.bin} (torch.save zip),
 * {@code pytorch_model.bin.index.json}. Tensor names may carry the {@code transformer.} prefix or not
 * (bare GPTNeoModel checkpoints); {@code lm_head.weight} may be present and must then equal
 * {@code transformer.wte.weight}; the old mask buffers ({@code attn.attention.bias},
 * {@code attn.attention.masked_bias}, {@code attn.bias}, {@code attn.masked_bias}) are ignored.
 * Missing or unexpected tensors and shapes that disagree with config.json are one-line
 * {@link CheckpointException}s naming the file and the tensor. Stored F32, F16 and BF16 are read
 * (F64 too from .bin files); see {@link LoadOptions} for what lands in memory and when the mapping
 * is used zero-copy. No tensor-sized array is ever made on the Java heap.
 *
 * <h2>Saving</h2>
 * {@link #save(GptNeoModel, Path, SaveOptions)} writes safetensors (one file, or shards plus an index
 * above {@link SaveOptions#maxShardBytes()}) and config.json. It is crash-safe: every file is first
 * written completely under a temporary name; the switch to the new weights is a single rename (or,
 * when it replaces a single file by shards, the removal of the old model.safetensors after the new
 * index exists), config.json follows, and only then are the older save's leftover files removed. If
 * the save fails before the switch, the folder is as it was; a crash at any point leaves either the
 * old or the new checkpoint, or (only while equally named shards are being replaced) a folder whose
 * index is deliberately empty so that it refuses to load instead of mixing weights.
 */
public final class HfCheckpoint {
    public static final String CONFIG = "config.json";
    public static final String WEIGHTS = "model.safetensors";
    public static final String WEIGHTS_INDEX = WeightSource.ST_INDEX;
    public static final String BIN = WeightSource.BIN;
    public static final String BIN_INDEX = WeightSource.BIN_INDEX;

    private static final Pattern SHARD = Pattern.compile("model-\\d{5}-of-\\d{5}\\.safetensors");
    private static final SecureRandom RANDOM = new SecureRandom();

    private HfCheckpoint() {}

    // ---- loading ---------------------------------------------------------------------------------

    /**
     * Reads a model folder into independent, writable F32 parameters (no file stays open), the same
     * as {@code load(dir, backend, LoadOptions.training())}: what training and older callers expect.
     */
    public static GptNeoModel load(Path dir, Backend backend) {
        return load(dir, backend, LoadOptions.training());
    }

    /**
     * Reads a model folder (any layout listed in the class comment) with the given placement.
     *
     * @throws CheckpointException if the folder, config.json or a weights file is missing, malformed
     *     or inconsistent
     */
    public static GptNeoModel load(Path dir, Backend backend, LoadOptions options) {
        GptNeoConfig config = readConfig(dir);
        return load(config, WeightSource.openFolder(dir), backend, options);
    }

    /** config.json of a model folder. */
    static GptNeoConfig readConfig(Path dir) {
        Path configFile = dir.resolve(CONFIG);
        if (!Files.isRegularFile(configFile)) {
            throw new CheckpointException(dir + ": no " + CONFIG + " (not a Hugging Face model folder)");
        }
        return HfConfig.read(configFile);
    }

    /** Builds the model from an open source, which it then owns (closed now or with the model). */
    static GptNeoModel load(GptNeoConfig config, WeightSource source, Backend backend, LoadOptions options) {
        Arena arena = HugePages.over(Arena.ofShared());
        boolean sourceKept = false;
        try {
            Map<String, String> stored = checkedNames(config, source);
            Map<String, Tensor> hosts = new LinkedHashMap<>();
            Map<String, Callable<Tensor>> conversions = new LinkedHashMap<>();
            for (Map.Entry<String, int[]> e : GptNeoModel.parameterShapes(config).entrySet()) {
                String name = stored.get(e.getKey());
                int[] shape = e.getValue();
                boolean matrix = shape.length == 2;
                DType wanted = matrix ? options.dtype() : DType.F32;
                Tensor view = !options.writable() && matrix && wanted.safetensorsName().equals(source.dtypeName(name))
                        ? source.view(name) : null;
                if (view != null) {
                    hosts.put(e.getKey(), view.reshape(shape));
                    sourceKept = true;
                } else {
                    hosts.put(e.getKey(), null);
                    conversions.put(e.getKey(), wanted == DType.Q8 ? () -> quantized(source, name, shape, arena) : () -> {
                        Tensor host = allocate(arena, wanted, shape);
                        source.copyInto(name, host);
                        return host;
                    });
                }
            }
            hosts.putAll(convertAll(conversions, source.readsConcurrently()));
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            hosts.forEach((name, host) -> tensors.put(name, backend.upload(host, arena)));   // on the CPU: no copy
            AutoCloseable storage = sourceKept ? () -> {
                try {
                    arena.close();
                } finally {
                    source.close();
                }
            } : arena::close;
            if (!sourceKept) {
                source.close();
            }
            return GptNeoModel.fromTensors(config, backend, tensors, storage);
        } catch (RuntimeException | Error e) {
            arena.close();
            source.close();
            throw e;
        }
    }

    /**
     * Checks that {@code source} holds exactly the parameters {@code config} implies, with their
     * shapes and a readable dtype (and a tied head equal to the embedding, if stored), and maps each
     * parameter name to its stored name.
     */
    static Map<String, String> checkedNames(GptNeoConfig config, WeightSource source) {
        Map<String, String> stored = parameterNames(source, config);
        for (Map.Entry<String, int[]> e : GptNeoModel.parameterShapes(config).entrySet()) {
            checkTensor(source, stored.get(e.getKey()), e.getValue());
        }
        checkTiedHead(source, stored);
        return stored;
    }

    /**
     * Maps each parameter name to its stored name (with or without the {@code transformer.} prefix),
     * skipping the old mask buffers; {@code lm_head.weight} is kept under its own name. Checks that
     * no parameter is missing and none is unexpected before building anything of the config's size.
     */
    private static Map<String, String> parameterNames(WeightSource source, GptNeoConfig config) {
        Map<String, String> found = new LinkedHashMap<>();
        for (String name : source.names()) {
            String canonical = name.startsWith("transformer.") || name.startsWith("lm_head.") ? name : "transformer." + name;
            if (canonical.endsWith(".attn.attention.bias") || canonical.endsWith(".attn.attention.masked_bias")
                    || canonical.endsWith(".attn.bias") || canonical.endsWith(".attn.masked_bias")) {
                continue;
            }
            String previous = found.putIfAbsent(canonical, name);
            if (previous != null) {
                throw new CheckpointException(source.fileOf(name) + ": tensors '" + printable(previous) + "' and '"
                        + printable(name) + "' are both parameter '" + printable(canonical) + "'");
            }
        }
        // every parameter present, checked lazily: an absurd config stops at its first missing tensor
        for (Iterator<Parameter> expected = GptNeoModel.parameterList(config); expected.hasNext(); ) {
            String name = expected.next().name();
            if (!found.containsKey(name)) {
                throw new CheckpointException(source.label() + ": missing tensor '" + name + "'");
            }
        }
        Map<String, int[]> shapes = GptNeoModel.parameterShapes(config);     // now no larger than the file
        for (Map.Entry<String, String> e : found.entrySet()) {
            if (!shapes.containsKey(e.getKey()) && !e.getKey().equals("lm_head.weight")) {
                throw new CheckpointException(source.fileOf(e.getValue()) + ": unexpected tensor '" + printable(e.getValue())
                        + "' for a " + config.layers() + "-layer GPT-Neo");
            }
        }
        return found;
    }

    private static void checkTensor(WeightSource source, String stored, int[] expected) {
        long[] shape = source.shape(stored);
        if (!Arrays.equals(shape, Arrays.stream(expected).asLongStream().toArray())) {
            throw new CheckpointException(source.fileOf(stored) + ": tensor '" + printable(stored) + "' has shape "
                    + Arrays.toString(shape) + " but config.json implies " + Arrays.toString(expected));
        }
        String dtype = source.dtypeName(stored);
        boolean readable = source instanceof WeightSource.Torch ? TensorCopy.floatSize(dtype) > 0
                : dtype.equals("F32") || dtype.equals("F16") || dtype.equals("BF16");
        if (!readable) {
            throw new CheckpointException(source.fileOf(stored) + ": tensor '" + printable(stored) + "' has dtype " + dtype
                    + "; parameters must be F32, F16 or BF16" + (source instanceof WeightSource.Torch ? " (or F64)" : ""));
        }
    }

    private static void checkTiedHead(WeightSource source, Map<String, String> stored) {
        String head = stored.remove("lm_head.weight");
        if (head == null) {
            return;
        }
        String wte = stored.get("transformer.wte.weight");
        long[] headShape = source.shape(head);
        long[] wteShape = source.shape(wte);
        String where = source.fileOf(head);
        if (!Arrays.equals(headShape, wteShape)) {
            throw new CheckpointException(where + ": lm_head.weight has shape " + Arrays.toString(headShape)
                    + " but transformer.wte.weight has " + Arrays.toString(wteShape) + ": untied heads are not supported");
        }
        if (TensorCopy.floatSize(source.dtypeName(head)) < 0 || !source.sameValues(head, wte)) {
            throw new CheckpointException(where + ": lm_head.weight differs from transformer.wte.weight:"
                    + " untied heads are not supported");
        }
    }

    // ---- saving ----------------------------------------------------------------------------------

    /** Writes config.json and one F32 model.safetensors into {@code dir} (created if needed), crash-safely. */
    public static void save(GptNeoModel model, Path dir) {
        save(model, dir, SaveOptions.unsharded());
    }

    /**
     * Runs the conversions, on all cores when the source can be read from several threads (converting
     * is the bulk of loading a large model in BF16 or Q8), and returns their tensors in order.
     */
    private static Map<String, Tensor> convertAll(Map<String, Callable<Tensor>> conversions, boolean concurrently) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        int threads = concurrently ? Math.min(conversions.size(), Runtime.getRuntime().availableProcessors()) : 1;
        if (threads <= 1) {
            conversions.forEach((name, conversion) -> out.put(name, call(conversion)));
            return out;
        }
        try (ExecutorService pool = Executors.newFixedThreadPool(threads, Thread.ofPlatform().name("gptneo-load-", 1).factory())) {
            Map<String, Future<Tensor>> pending = new LinkedHashMap<>();
            conversions.forEach((name, conversion) -> pending.put(name, pool.submit(conversion)));
            for (Map.Entry<String, Future<Tensor>> e : pending.entrySet()) {
                try {
                    out.put(e.getKey(), e.getValue().get());
                } catch (ExecutionException failed) {
                    pending.values().forEach(f -> f.cancel(true));
                    switch (failed.getCause()) {
                        case RuntimeException r -> throw r;
                        case Error err -> throw err;
                        default -> throw new IllegalStateException(failed.getCause());
                    }
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    pending.values().forEach(f -> f.cancel(true));
                    throw new IllegalStateException("interrupted while loading", interrupted);
                }
            }
        }
        return out;
    }

    /**
     * A loaded weight's memory: written once, kept for the model's life, so on huge pages where there are
     * some (small ones too, from the arena's chunks).
     */
    private static Tensor allocate(Arena arena, DType dtype, int[] shape) {
        return Tensor.wrap(HugePages.allocate(arena, dtype.bytes(Tensor.elementCount(shape))), dtype, shape);
    }

    private static Tensor call(Callable<Tensor> conversion) {
        try {
            return conversion.call();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Tensor {@code name} quantized to Q8 in {@code arena}: chunk by chunk as it is read where the
     * source can (safetensors), else through an F32 copy of that tensor alone.
     */
    private static Tensor quantized(WeightSource source, String name, int[] shape, Arena arena) {
        try (Arena staging = Arena.ofConfined()) {
            if (source.quantizesWhileCopying()) {
                Tensor q8 = allocate(arena, DType.Q8, shape);
                source.copyInto(name, q8);
                return q8;
            }
            Tensor f32 = Tensor.allocate(staging, DType.F32, shape);
            source.copyInto(name, f32);
            Tensor q8 = allocate(arena, DType.Q8, shape);
            q8.copyFrom(f32);
            return q8;
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(source.fileOf(name) + ": tensor '" + printable(name) + "' cannot be stored as Q8: "
                    + e.getMessage());
        }
    }

    /**
     * Writes config.json and the weights as safetensors (sharded above {@code options.maxShardBytes()},
     * in {@code options.dtype()}) into {@code dir} (created if needed), crash-safely as described in
     * the class comment; files of an older save there (model.safetensors, its index, its shards) that
     * the new save does not use are removed at the end. Other files are left alone.
     *
     * @return the files written, weights first, config.json last
     * @throws CheckpointException if a file cannot be written (the folder then holds the older save)
     * @throws IllegalStateException if a LoRA adapter is attached (save it with AdapterCheckpoint, or merge it first)
     */
    public static List<Path> save(GptNeoModel model, Path dir, SaveOptions options) {
        ObjectNode config = HfConfig.toJson(model.config());
        return save(model, dir, options, config);
    }

    static List<Path> save(GptNeoModel model, Path dir, SaveOptions options, ObjectNode configJson) {
        Map<String, Var> parameters = model.parameters();
        parameters.keySet().stream().filter(name -> name.contains(".lora_")).findFirst().ifPresent(name -> {
            throw new IllegalStateException("the model carries a LoRA adapter (" + name + "): save the adapter with"
                    + " AdapterCheckpoint.save, or merge() or remove() it before saving the model");
        });
        Map<String, int[]> shapes = new LinkedHashMap<>();
        parameters.forEach((name, p) -> shapes.put(name, p.shape()));
        Backend backend = model.backend();
        return save(new TensorStream(shapes, (name, staging) ->
                backend.download(parameters.get(name).value(), staging)), dir, options, configJson);
    }

    /**
     * The tensors a save writes: their names and shapes in checkpoint order, and how to bring one
     * into host memory. A save opens them one shard at a time, so that it never holds more than a
     * shard beyond what the source already has (a model's own parameters, or a mapped file).
     */
    record TensorStream(Map<String, int[]> shapes, Opener opener) {
        @FunctionalInterface
        interface Opener {
            /** The tensor as a host tensor (a view, or a copy in {@code staging}). */
            Tensor open(String name, Arena staging);
        }
    }

    static List<Path> save(TensorStream params, Path dir, SaveOptions options, ObjectNode configJson) {
        configJson.put("torch_dtype", switch (options.dtype()) {
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            default -> "float32";
        });
        String configText;
        try {
            configText = HfConfig.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(configJson) + "\n";
        } catch (JsonProcessingException e) {
            throw new CheckpointException(CONFIG + ": cannot write: " + e.getOriginalMessage(), e);
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new CheckpointException(dir + ": cannot create: " + SafeTensorsFile.describe(e), e);
        }
        List<List<String>> shards = planShards(params, options);
        int n = shards.size();
        List<String> finalNames = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            finalNames.add(n == 1 ? WEIGHTS : String.format("model-%05d-of-%05d.safetensors", k + 1, n));
        }

        // 1. every shard complete under a temporary name; on failure remove them: the folder is untouched
        List<Path> temps = new ArrayList<>();
        Map<String, String> weightMap = new TreeMap<>();
        long totalBytes = 0;
        try {
            for (int k = 0; k < n; k++) {
                Path temp = dir.resolve("." + finalNames.get(k) + "." + Long.toUnsignedString(RANDOM.nextLong(), 36) + ".partial");
                temps.add(temp);
                totalBytes += writeShard(temp, finalNames.get(k), shards.get(k), params, options.dtype());
                for (String name : shards.get(k)) {
                    weightMap.put(name, finalNames.get(k));
                }
            }
        } catch (RuntimeException | Error e) {
            temps.forEach(HfCheckpoint::deleteQuietly);
            if (e instanceof CheckpointException || e instanceof Error) throw e;
            throw new CheckpointException(dir.resolve(finalNames.get(temps.size() - 1)).getFileName()
                    + ": cannot write: " + oneLine(e), e);
        }

        // 2. switch to the new weights, 3. config.json, 4. remove what the older save left
        List<Path> written = new ArrayList<>();
        try {
            Path single = dir.resolve(WEIGHTS);
            Path index = dir.resolve(WEIGHTS_INDEX);
            if (n == 1) {
                move(temps.get(0), single);                       // the switch: model.safetensors wins
                written.add(single);
            } else {
                boolean collides = finalNames.stream().anyMatch(f -> Files.exists(dir.resolve(f)));
                if (collides && !Files.isRegularFile(single) && Files.exists(index)) {
                    // the active index names files we are about to replace: disarm it first
                    writeAtomically(index, "{\"metadata\": {\"note\": \"save in progress\"}, \"weight_map\": {}}\n");
                }
                for (int k = 0; k < n; k++) {
                    move(temps.get(k), dir.resolve(finalNames.get(k)));
                    written.add(dir.resolve(finalNames.get(k)));
                }
                ObjectNode indexJson = HfConfig.JSON.createObjectNode();
                indexJson.putObject("metadata").put("total_size", totalBytes);
                ObjectNode map = indexJson.putObject("weight_map");
                weightMap.forEach(map::put);
                writeAtomically(index, HfConfig.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(indexJson) + "\n");
                written.add(index);
                Files.deleteIfExists(single);                     // the switch when a single file was active
            }
            Path configFile = dir.resolve(CONFIG);
            writeAtomically(configFile, configText);
            written.add(configFile);
            removeStale(dir, new HashSet<>(finalNames), n == 1);
        } catch (IOException e) {
            temps.forEach(HfCheckpoint::deleteQuietly);
            throw new CheckpointException(dir + ": cannot finish the save: " + SafeTensorsFile.describe(e), e);
        }
        return written;
    }

    /** Greedy packing in parameter order; a tensor larger than the limit gets a shard of its own. */
    private static List<List<String>> planShards(TensorStream params, SaveOptions options) {
        List<List<String>> shards = new ArrayList<>();
        List<String> current = new ArrayList<>();
        long bytes = 0;
        for (Map.Entry<String, int[]> e : params.shapes().entrySet()) {
            long size = Tensor.elementCount(e.getValue()) * options.dtype().byteSize();
            if (!current.isEmpty() && bytes + size > options.maxShardBytes()) {
                shards.add(current);
                current = new ArrayList<>();
                bytes = 0;
            }
            current.add(e.getKey());
            bytes += size;
        }
        if (!current.isEmpty() || shards.isEmpty()) {
            shards.add(current);
        }
        return shards;
    }

    /** Writes one shard (converting to {@code dtype} where needed) and returns its tensor bytes. */
    private static long writeShard(Path temp, String finalName, List<String> names, TensorStream params, DType dtype) {
        try (Arena staging = Arena.ofConfined()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            long bytes = 0;
            for (String name : names) {
                Tensor t = params.opener().open(name, staging).reshape(params.shapes().get(name));
                Tensor out = t.dtype() == dtype ? t : t.to(staging, dtype);
                tensors.put(name, out);
                bytes += out.data().byteSize();
            }
            try {
                SafeTensorsWriter.write(temp, tensors, Map.of("format", "pt"));
            } catch (CheckpointException e) {
                throw new CheckpointException(finalName + ": " + e.getMessage().substring(e.getMessage().indexOf(':') + 2), e);
            }
            return bytes;
        }
    }

    private static void removeStale(Path dir, Set<String> keep, boolean single) throws IOException {
        List<Path> stale = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                if (keep.contains(name)) continue;
                if (SHARD.matcher(name).matches() || single && name.equals(WEIGHTS_INDEX)) {
                    stale.add(f);
                }
            }
        }
        for (Path f : stale) {
            Files.deleteIfExists(f);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Writes {@code config} as {@code dir/config.json} (atomically), e.g. a converted mesh-tf config. */
    public static Path writeConfig(GptNeoConfig config, Path dir) {
        try {
            Files.createDirectories(dir);
            Path file = dir.resolve(CONFIG);
            writeAtomically(file, HfConfig.JSON.writerWithDefaultPrettyPrinter()
                    .writeValueAsString(HfConfig.toJson(config)) + "\n");
            return file;
        } catch (IOException e) {
            throw new CheckpointException(dir.resolve(CONFIG) + ": cannot write: " + SafeTensorsFile.describe(e), e);
        }
    }

    static void writeAtomically(Path target, String text) throws IOException {
        Path temp = TemporaryFiles.siblingOf(target);
        try {
            try (var channel = java.nio.channels.FileChannel.open(temp, java.nio.file.StandardOpenOption.CREATE_NEW,
                    java.nio.file.StandardOpenOption.WRITE)) {
                channel.write(java.nio.ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
                channel.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort
        }
    }

    static String printable(String s) {
        return RestrictedUnpickler.printable(s);
    }

    private static String oneLine(Throwable e) {
        String m = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " " + e.getMessage());
        m = m.replaceAll("\\s+", " ").strip();
        return m.length() > 200 ? m.substring(0, 200) + "..." : m;
    }
}
