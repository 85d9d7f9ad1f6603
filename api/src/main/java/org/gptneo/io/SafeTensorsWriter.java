package org.gptneo.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.gptneo.tensor.Tensor;

/**
 * Writes safetensors files (spec section 13) atomically: the bytes go to a temporary file in the
 * target's folder, which is renamed over the target only once complete, so the target path never
 * holds a half-written file.
 */
public final class SafeTensorsWriter {
    /** Tensor bytes go through a staging buffer of this size, so no file-sized array is ever built. */
    private static final int CHUNK_BYTES = 4 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Where the tensor data starts in the file: a multiple of this many bytes. */
    private static final long DATA_ALIGNMENT = 64;

    private SafeTensorsWriter() {}

    /**
     * Writes {@code tensors} (name → tensor) and {@code metadata} to {@code file}, replacing it
     * atomically. Tensors are laid out by element size descending, then name; the header is padded
     * with spaces so that the data starts on a 64-byte boundary of the file (a multiple of 8 bytes, as
     * the reference writer pads it). Metadata is written sorted by key, so the same contents
     * give the same bytes whatever the map's order; an empty (or null) map writes no "__metadata__".
     *
     * @throws CheckpointException if an I/O error occurs (the target is then left as it was)
     * @throws IllegalArgumentException if a tensor is named "__metadata__"
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
        List<Map.Entry<String, Tensor>> ordered = order(tensors);
        byte[] header = header(ordered, metadata == null ? Map.of() : metadata);
        String label = SafeTensorsFile.label(file);
        Path target = file.toAbsolutePath();
        Path temp = TemporaryFiles.siblingOf(target);
        boolean moved = false;
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                 Arena staging = Arena.ofConfined()) {
                ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
                writeFully(channel, length);
                writeFully(channel, ByteBuffer.wrap(header));
                MemorySegment buffer = staging.allocate(CHUNK_BYTES);
                for (Map.Entry<String, Tensor> e : ordered) {
                    writeSegment(channel, e.getValue().data(), buffer);
                }
                channel.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            moved = true;
        } catch (IOException e) {
            throw new CheckpointException(label + ": cannot write: " + SafeTensorsFile.describe(e), e);
        } finally {
            if (!moved) {
                deleteQuietly(temp);
            }
        }
    }

    private static List<Map.Entry<String, Tensor>> order(Map<String, Tensor> tensors) {
        List<Map.Entry<String, Tensor>> ordered = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Objects.requireNonNull(e.getKey(), "tensor name");
            Objects.requireNonNull(e.getValue(), () -> "tensor '" + e.getKey() + "'");
            if (e.getKey().equals(SafeTensorsHeader.METADATA_KEY)) {
                throw new IllegalArgumentException("a tensor cannot be named " + SafeTensorsHeader.METADATA_KEY);
            }
            ordered.add(Map.entry(e.getKey(), e.getValue()));
        }
        ordered.sort(Comparator.<Map.Entry<String, Tensor>>comparingInt(e -> -e.getValue().dtype().byteSize())
                .thenComparing(Map.Entry::getKey));
        return ordered;
    }

    /**
     * The JSON header, space-padded so that 8 + its length is a multiple of {@link #DATA_ALIGNMENT}: a mapped
     * tensor then starts on a cache line (the F32 layouts here keep every tensor there), and the CPU
     * kernels read weights that straddle cache lines about a sixth slower.
     */
    private static byte[] header(List<Map.Entry<String, Tensor>> ordered, Map<String, String> metadata) {
        Map<String, Object> json = new LinkedHashMap<>();
        if (!metadata.isEmpty()) {
            json.put(SafeTensorsHeader.METADATA_KEY, new TreeMap<>(metadata));
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : ordered) {
            Tensor t = e.getValue();
            long end = Math.addExact(offset, t.data().byteSize());
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", t.dtype().safetensorsName());
            entry.put("shape", t.shape());
            entry.put("data_offsets", new long[] {offset, end});
            json.put(e.getKey(), entry);
            offset = end;
        }
        byte[] text;
        try {
            text = JSON.writeValueAsString(json).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode the safetensors header", e);
        }
        int padded = Math.toIntExact((8 + text.length + DATA_ALIGNMENT - 1) / DATA_ALIGNMENT * DATA_ALIGNMENT - 8);
        if (padded > SafeTensorsHeader.MAX_HEADER_BYTES) {
            throw new IllegalArgumentException("safetensors header of " + padded + " bytes exceeds the limit of "
                    + SafeTensorsHeader.MAX_HEADER_BYTES);
        }
        byte[] header = Arrays.copyOf(text, padded);
        Arrays.fill(header, text.length, padded, (byte) ' ');
        return header;
    }

    private static void writeSegment(FileChannel channel, MemorySegment data, MemorySegment buffer)
            throws IOException {
        long size = data.byteSize();
        for (long done = 0; done < size; ) {
            int n = (int) Math.min(buffer.byteSize(), size - done);
            MemorySegment.copy(data, done, buffer, 0, n);
            writeFully(channel, buffer.asSlice(0, n).asByteBuffer());
            done += n;
        }
    }

    private static void writeFully(FileChannel channel, ByteBuffer bytes) throws IOException {
        while (bytes.hasRemaining()) {
            channel.write(bytes);
        }
    }

    private static void deleteQuietly(Path temp) {
        try {
            Files.deleteIfExists(temp);
        } catch (IOException ignored) {
            // best effort: the target itself was never touched
        }
    }
}
