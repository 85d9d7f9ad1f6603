package org.gptneo.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A sharded checkpoint's index ({@code model.safetensors.index.json} or
 * {@code pytorch_model.bin.index.json}): {"metadata": {"total_size": bytes}, "weight_map": {tensor
 * name → file name}}. {@link #read} validates it: the weight map is a non-empty object of strings,
 * every file name is a plain name in the same folder (no separators, no "..", not absolute, no
 * control characters) and exists there as a regular file.
 */
record ShardIndex(Path file, Map<String, String> weightMap, List<String> files) {
    /** Largest index file read (the 2.7B index is about 30 KB). */
    static final long MAX_BYTES = 64L << 20;

    private static final ObjectMapper JSON = new ObjectMapper(
            JsonFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    static ShardIndex read(Path indexFile) {
        String label = SafeTensorsFile.label(indexFile);
        JsonNode root;
        try {
            long size = Files.size(indexFile);
            if (size > MAX_BYTES) {
                throw new CheckpointException(label + ": " + size + " bytes, more than the " + MAX_BYTES + " an index may have");
            }
            root = JSON.readTree(Files.readAllBytes(indexFile));
        } catch (JacksonException e) {
            throw new CheckpointException(label + ": not readable JSON (" + HfConfig.firstLine(e.getOriginalMessage()) + ")", e);
        } catch (IOException e) {
            throw new CheckpointException(label + ": cannot read: " + SafeTensorsFile.describe(e), e);
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointException(label + ": not a JSON object");
        }
        JsonNode metadata = root.get("metadata");
        if (metadata != null && !metadata.isNull()) {
            if (!metadata.isObject()) {
                throw new CheckpointException(label + ": metadata is not a JSON object");
            }
            JsonNode total = metadata.get("total_size");
            if (total != null && !(total.isIntegralNumber() && total.canConvertToLong() && total.longValue() >= 0)) {
                throw new CheckpointException(label + ": metadata.total_size is not a non-negative integer");
            }
        }
        JsonNode map = root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new CheckpointException(label + ": no weight_map object");
        }
        if (map.isEmpty()) {
            throw new CheckpointException(label + ": weight_map is empty (an interrupted save?)");
        }
        Path dir = indexFile.toAbsolutePath().getParent();
        Map<String, String> weightMap = new LinkedHashMap<>();
        Set<String> files = new LinkedHashSet<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            String tensor = RestrictedUnpickler.printable(e.getKey());
            if (!e.getValue().isTextual()) {
                throw new CheckpointException(label + ": weight_map value of '" + tensor + "' is not a file name string");
            }
            String name = e.getValue().textValue();
            if (files.add(name)) {
                checkFileName(label, tensor, name, dir);
            }
            weightMap.put(e.getKey(), name);
        }
        return new ShardIndex(indexFile, Collections.unmodifiableMap(weightMap), List.copyOf(new ArrayList<>(files)));
    }

    private static void checkFileName(String label, String tensor, String name, Path dir) {
        String shown = RestrictedUnpickler.printable(name);
        boolean plain = !name.isEmpty() && name.length() <= 255 && !name.equals(".") && !name.equals("..")
                && name.indexOf('/') < 0 && name.indexOf('\\') < 0 && name.indexOf(':') < 0
                && name.chars().allMatch(c -> c >= 0x20 && c != 0x7F);
        if (!plain) {
            throw new CheckpointException(label + ": tensor '" + tensor + "' is mapped to '" + shown
                    + "', which is not a plain file name in the model folder");
        }
        Path file = dir.resolve(name).normalize();
        if (!dir.equals(file.getParent())) {
            throw new CheckpointException(label + ": tensor '" + tensor + "' is mapped to '" + shown
                    + "', outside the model folder");
        }
        if (!Files.isRegularFile(file)) {
            throw new CheckpointException(label + ": tensor '" + tensor + "' is mapped to '" + shown
                    + "', which does not exist");
        }
    }

    /** The tensor names the index maps to {@code fileName}. */
    Set<String> tensorsIn(String fileName) {
        Set<String> out = new LinkedHashSet<>();
        weightMap.forEach((tensor, f) -> {
            if (f.equals(fileName)) out.add(tensor);
        });
        return out;
    }

    String label() {
        return SafeTensorsFile.label(file);
    }
}
