package org.gptneo.nn;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * The tensors of a golden safetensors file written by tools/reference/safetensors_io.py (a compact
 * JSON header: {"name":{"dtype":"F64","shape":[...],"data_offsets":[a,b]},...}), F64, F32 or I32,
 * read as doubles (exactly); the layers module has no JSON library, and these files need none.
 */
final class GoldenTensors {
    private static final Pattern ENTRY = Pattern.compile(
            "\"([^\"]+)\":\\{\"dtype\":\"(F64|F32|I32)\",\"shape\":\\[([0-9,]*)\\],\"data_offsets\":\\[(\\d+),(\\d+)\\]\\}");

    private record Entry(int[] shape, double[] values) {}

    private final Map<String, Entry> entries = new HashMap<>();

    /** Reads resource {@code name} (e.g. "/golden/linear_attention.safetensors"). */
    GoldenTensors(String resource) {
        byte[] bytes;
        try (InputStream in = GoldenTensors.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalArgumentException("no test resource " + resource);
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int headerLength = Math.toIntExact(buffer.getLong(0));
        String header = new String(bytes, 8, headerLength, StandardCharsets.UTF_8);
        Matcher m = ENTRY.matcher(header);
        while (m.find()) {
            String dtype = m.group(2);
            int[] shape = m.group(3).isEmpty() ? new int[0] : Arrays.stream(m.group(3).split(",")).mapToInt(Integer::parseInt).toArray();
            int begin = 8 + headerLength + Integer.parseInt(m.group(4)), end = 8 + headerLength + Integer.parseInt(m.group(5));
            int size = dtype.equals("F64") ? Double.BYTES : Float.BYTES;
            double[] values = new double[(end - begin) / size];
            for (int i = 0; i < values.length; i++) {
                int at = begin + i * size;
                values[i] = switch (dtype) {
                    case "F64" -> buffer.getDouble(at);
                    case "F32" -> buffer.getFloat(at);
                    default -> buffer.getInt(at);
                };
            }
            entries.put(m.group(1), new Entry(shape, values));
        }
    }

    double[] values(String name) {
        return entry(name).values().clone();
    }

    /** The tensor rounded to floats (exact for F32 tensors). */
    float[] floats(String name) {
        double[] v = entry(name).values();
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (float) v[i];
        return out;
    }

    /** The tensor rounded to F32, in {@code arena}. */
    Tensor f32(String name, Arena arena) {
        Entry e = entry(name);
        Tensor t = Tensor.allocate(arena, DType.F32, e.shape());
        for (int i = 0; i < e.values().length; i++) t.setFloat(i, (float) e.values()[i]);
        return t;
    }

    private Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new IllegalArgumentException("the golden file has no tensor " + name + ": " + entries.keySet());
        return e;
    }
}
