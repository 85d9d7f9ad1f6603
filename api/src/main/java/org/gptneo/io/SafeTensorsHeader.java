package org.gptneo.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses and strictly validates the JSON header of a safetensors file (spec section 13): entry
 * fields, known dtypes, sizes against shapes, and offsets that tile the data section exactly.
 */
final class SafeTensorsHeader {
    /** The largest header the reference (Rust) reader accepts. */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    static final String METADATA_KEY = "__metadata__";

    /** Element size in bytes of every dtype this reader knows. */
    static final Map<String, Integer> DTYPE_SIZES = Map.ofEntries(
            Map.entry("BOOL", 1), Map.entry("U8", 1), Map.entry("I8", 1),
            Map.entry("I16", 2), Map.entry("U16", 2), Map.entry("F16", 2), Map.entry("BF16", 2),
            Map.entry("I32", 4), Map.entry("U32", 4), Map.entry("F32", 4),
            Map.entry("F64", 8), Map.entry("I64", 8), Map.entry("U64", 8),
            Map.entry("F8_E5M2", 1), Map.entry("F8_E4M3", 1));

    private static final ObjectMapper JSON = new ObjectMapper(
            JsonFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** One tensor's header entry; offsets are relative to the start of the data section. */
    record Entry(String name, String dtype, long[] shape, long begin, long end) {
        long byteCount() {
            return end - begin;
        }
    }

    /** The entries in order of their offsets. */
    final Map<String, Entry> entries;
    /** The optional "__metadata__" map (empty when absent). */
    final Map<String, String> metadata;

    private SafeTensorsHeader(Map<String, Entry> entries, Map<String, String> metadata) {
        this.entries = Collections.unmodifiableMap(entries);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /**
     * Parses {@code header} (the N header bytes) of a file whose data section holds {@code dataLength}
     * bytes. {@code file} names the file in error messages.
     */
    static SafeTensorsHeader parse(String file, byte[] header, long dataLength) {
        JsonNode root = readJson(file, header);
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            if (field.getKey().equals(METADATA_KEY)) {
                metadata = readMetadata(file, field.getValue());
            } else {
                entries.add(readEntry(file, field.getKey(), field.getValue()));
            }
        }
        entries.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        checkTiling(file, entries, dataLength);
        Map<String, Entry> byName = new LinkedHashMap<>();
        for (Entry e : entries) {
            byName.put(e.name(), e);
        }
        return new SafeTensorsHeader(byName, metadata);
    }

    private static JsonNode readJson(String file, byte[] header) {
        if (header.length == 0 || header[0] != '{') {
            throw new CheckpointException(file + ": header does not start with '{' (not a JSON object)");
        }
        try {
            StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(header));
        } catch (CharacterCodingException e) {
            throw new CheckpointException(file + ": header is not valid UTF-8", e);
        }
        JsonNode root;
        try {
            root = JSON.readTree(header);
        } catch (JacksonException e) {
            throw new CheckpointException(file + ": header is not valid JSON: " + oneLine(e.getOriginalMessage()), e);
        } catch (java.io.IOException | RuntimeException e) {
            throw new CheckpointException(file + ": header is not valid JSON: " + oneLine(e.toString()), e);
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointException(file + ": header is not a JSON object");
        }
        return root;
    }

    private static Map<String, String> readMetadata(String file, JsonNode node) {
        if (!node.isObject()) {
            throw new CheckpointException(file + ": __metadata__ is not a JSON object");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            if (!field.getValue().isTextual()) {
                throw new CheckpointException(file + ": __metadata__ value of '" + field.getKey()
                        + "' is not a string");
            }
            metadata.put(field.getKey(), field.getValue().textValue());
        }
        return metadata;
    }

    private static Entry readEntry(String file, String name, JsonNode node) {
        String where = file + ": tensor '" + name + "'";
        if (!node.isObject()) {
            throw new CheckpointException(where + " entry is not a JSON object");
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new CheckpointException(where + " has no dtype string");
        }
        String dtype = dtypeNode.textValue();
        Integer elementSize = DTYPE_SIZES.get(dtype);
        if (elementSize == null) {
            throw new CheckpointException(where + " has unknown dtype '" + dtype + "'");
        }
        long[] shape = readLongs(where, "shape", node.get("shape"), -1);
        long[] offsets = readLongs(where, "data_offsets", node.get("data_offsets"), 2);
        long begin = offsets[0];
        long end = offsets[1];
        if (end < begin) {
            throw new CheckpointException(where + " data_offsets " + Arrays.toString(offsets) + " end before begin");
        }
        long bytes;
        try {
            long count = 1;
            for (long d : shape) {
                count = Math.multiplyExact(count, d);
            }
            bytes = Math.multiplyExact(count, (long) elementSize);
        } catch (ArithmeticException e) {
            throw new CheckpointException(where + " shape " + Arrays.toString(shape) + " overflows the size in bytes");
        }
        if (bytes != end - begin) {
            throw new CheckpointException(where + " data_offsets " + Arrays.toString(offsets) + " hold "
                    + (end - begin) + " bytes but " + dtype + " " + Arrays.toString(shape) + " needs " + bytes);
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    /** An array of non-negative integers, of {@code length} elements unless that is negative. */
    private static long[] readLongs(String where, String key, JsonNode node, int length) {
        if (node == null || !node.isArray()) {
            throw new CheckpointException(where + " has no " + key + " array");
        }
        if (length >= 0 && node.size() != length) {
            throw new CheckpointException(where + " " + key + " has " + node.size() + " elements, not " + length);
        }
        long[] values = new long[node.size()];
        for (int i = 0; i < values.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                throw new CheckpointException(where + " " + key + " holds " + oneLine(v.toString())
                        + ", not a non-negative integer");
            }
            values[i] = v.longValue();
        }
        return values;
    }

    private static void checkTiling(String file, List<Entry> sorted, long dataLength) {
        long expected = 0;
        for (Entry e : sorted) {
            if (e.begin() > expected) {
                throw new CheckpointException(file + ": hole in the data section: bytes [" + expected + ", "
                        + e.begin() + ") belong to no tensor (next is '" + e.name() + "')");
            }
            if (e.begin() < expected) {
                throw new CheckpointException(file + ": tensor '" + e.name() + "' data_offsets [" + e.begin()
                        + ", " + e.end() + "] overlap another tensor ending at " + expected);
            }
            expected = e.end();
        }
        if (expected < dataLength) {
            throw new CheckpointException(file + ": " + (dataLength - expected)
                    + " trailing bytes after the last tensor (tensors end at " + expected
                    + ", data section holds " + dataLength + ")");
        }
        if (expected > dataLength) {
            throw new CheckpointException(file + ": data section holds " + dataLength
                    + " bytes, shorter than the " + expected + " bytes the tensors declare (truncated file?)");
        }
    }

    private static String oneLine(String s) {
        if (s == null) {
            return "";
        }
        String line = s.replaceAll("\\s+", " ").strip();
        return line.length() > 200 ? line.substring(0, 200) + "..." : line;
    }
}
