package org.gptneo.nn;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A test-resource safetensors file as the reference scripts write it (F32, F64 and I32 tensors),
 * read into double arrays by name. The layers module has no safetensors reader of its own (that
 * lives in api), so this one reads only what the fixtures hold.
 */
final class GoldenTensors {
    private static final Pattern ENTRY = Pattern.compile(
            "\"([^\"]+)\"\\s*:\\s*\\{\\s*\"dtype\"\\s*:\\s*\"(\\w+)\"\\s*,\\s*\"shape\"\\s*:\\s*\\[([0-9,\\s]*)]\\s*,"
                    + "\\s*\"data_offsets\"\\s*:\\s*\\[\\s*(\\d+)\\s*,\\s*(\\d+)\\s*]\\s*}");

    private final Map<String, double[]> values = new HashMap<>();

    private GoldenTensors(byte[] file) {
        ByteBuffer buffer = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        int headerLength = Math.toIntExact(buffer.getLong(0));
        String header = new String(file, 8, headerLength, StandardCharsets.UTF_8);
        int data = 8 + headerLength;
        Matcher m = ENTRY.matcher(header);
        while (m.find()) {
            int begin = data + Integer.parseInt(m.group(4)), end = data + Integer.parseInt(m.group(5));
            values.put(m.group(1), decode(buffer, m.group(2), begin, end));
        }
    }

    /** The file at classpath resource {@code resource}. */
    static GoldenTensors load(String resource) {
        try (InputStream in = GoldenTensors.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("test resource " + resource + " is missing (run the reference script)");
            }
            return new GoldenTensors(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    double[] get(String name) {
        double[] v = values.get(name);
        if (v == null) {
            throw new IllegalArgumentException("no tensor '" + name + "' in the fixture");
        }
        return v.clone();
    }

    /** The named tensor as floats (exact for the F32 inputs). */
    float[] floats(String name) {
        double[] v = get(name);
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (float) v[i];
        return out;
    }

    private static double[] decode(ByteBuffer buffer, String dtype, int begin, int end) {
        int size = switch (dtype) {
            case "F64" -> 8;
            case "F32", "I32" -> 4;
            default -> throw new IllegalArgumentException("fixture dtype " + dtype + " is not F64, F32 or I32");
        };
        double[] out = new double[(end - begin) / size];
        for (int i = 0; i < out.length; i++) {
            int at = begin + i * size;
            out[i] = switch (dtype) {
                case "F64" -> buffer.getDouble(at);
                case "F32" -> buffer.getFloat(at);
                default -> buffer.getInt(at);
            };
        }
        return out;
    }
}
