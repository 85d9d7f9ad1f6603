package org.gptneo.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Set;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * A memory-mapped safetensors file (spec section 13). {@link #open} validates the whole header, so
 * every listed tensor lies inside the file; {@link #tensor} returns zero-copy views of the mapping.
 *
 * <p>Lifetime: the mapping belongs to a shared {@link Arena} that this object owns and frees on
 * {@link #close()}. Tensors returned by {@link #tensor} are views of that mapping and must not be used
 * after close: copy them first (e.g. {@link Tensor#to}) if they must outlive the file. Thread-safe
 * for reading.
 */
public final class SafeTensorsFile implements AutoCloseable {
    private static final ValueLayout.OfLong U64_LE =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final String label;
    private final Arena arena;
    private final MemorySegment data;
    private final SafeTensorsHeader header;
    private volatile boolean closed;

    private SafeTensorsFile(Path path, String label, Arena arena, MemorySegment data, SafeTensorsHeader header) {
        this.path = path;
        this.label = label;
        this.arena = arena;
        this.data = data;
        this.header = header;
    }

    /**
     * Memory-maps {@code file} and validates its header.
     *
     * @throws CheckpointException if the file cannot be read or is not a valid safetensors file
     */
    public static SafeTensorsFile open(Path file) {
        String label = label(file);
        if (Files.isDirectory(file)) {
            throw new CheckpointException(label + ": is a directory, not a safetensors file");
        }
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < 8) {
                throw new CheckpointException(label + ": file has " + size
                        + " bytes, too short for the 8-byte header length");
            }
            MemorySegment mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long n = mapped.get(U64_LE, 0);
            long limit = Math.min(SafeTensorsHeader.MAX_HEADER_BYTES, size - 8);
            if (n < 2 || n > limit) { // n < 0 here means n ≥ 2^63 as an unsigned value
                throw new CheckpointException(label + ": header length " + Long.toUnsignedString(n)
                        + " is outside [2, " + limit + "] (file has " + size + " bytes, header limit "
                        + SafeTensorsHeader.MAX_HEADER_BYTES + ")");
            }
            byte[] headerBytes = mapped.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
            SafeTensorsHeader header = SafeTensorsHeader.parse(label, headerBytes, size - 8 - n);
            return new SafeTensorsFile(file, label, arena, mapped.asSlice(8 + n), header);
        } catch (IOException e) {
            arena.close();
            throw new CheckpointException(label + ": cannot read: " + describe(e), e);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** The file this was opened from. */
    public Path path() {
        return path;
    }

    /** The tensor names, in order of their data offsets. */
    public Set<String> names() {
        return header.entries.keySet();
    }

    /** The "__metadata__" map; empty when the file has none. */
    public Map<String, String> metadata() {
        return header.metadata;
    }

    /** True when the file holds a tensor called {@code name}. */
    public boolean contains(String name) {
        return header.entries.containsKey(name);
    }

    /** The dtype of tensor {@code name} as written in the header ("F32", "BF16", "I64", ...). */
    public String dtypeName(String name) {
        return entry(name).dtype();
    }

    /** The shape of tensor {@code name} (a copy; empty for a scalar). */
    public long[] shape(String name) {
        return entry(name).shape().clone();
    }

    /**
     * A zero-copy view of tensor {@code name}, valid until {@link #close()}. Supports F32, F16, BF16
     * and I32 entries with every dimension at most {@link Integer#MAX_VALUE}.
     *
     * @throws CheckpointException if the name is missing or the tensor cannot be represented
     * @throws IllegalStateException if this file is closed
     */
    public Tensor tensor(String name) {
        SafeTensorsHeader.Entry e = entry(name);
        DType dtype = switch (e.dtype()) {
            case "F32" -> DType.F32;
            case "F16" -> DType.F16;
            case "BF16" -> DType.BF16;
            case "I32" -> DType.I32;
            default -> throw new CheckpointException(label + ": tensor '" + name + "' has dtype " + e.dtype()
                    + ", which is not supported here");
        };
        long[] shape = e.shape();
        int[] dims = new int[shape.length];
        for (int i = 0; i < dims.length; i++) {
            if (shape[i] > Integer.MAX_VALUE) {
                throw new CheckpointException(label + ": tensor '" + name + "' dimension " + i + " is "
                        + shape[i] + ", larger than " + Integer.MAX_VALUE);
            }
            dims[i] = (int) shape[i];
        }
        return Tensor.wrap(data.asSlice(e.begin(), e.byteCount()), dtype, dims);
    }

    /** Unmaps the file; views from {@link #tensor} become invalid. Calling it again does nothing. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "SafeTensorsFile[" + path + ", " + header.entries.size() + " tensors]";
    }

    private SafeTensorsHeader.Entry entry(String name) {
        if (closed) {
            throw new IllegalStateException(label + ": file is closed");
        }
        SafeTensorsHeader.Entry e = header.entries.get(name);
        if (e == null) {
            throw new CheckpointException(label + ": no tensor named '" + name + "'");
        }
        return e;
    }

    static String label(Path file) {
        Path name = file.getFileName();
        return name == null ? file.toString() : name.toString();
    }

    static String describe(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file";
        }
        String message = e.getMessage() == null ? "" : e.getMessage().replaceAll("\\s+", " ");
        return e.getClass().getSimpleName() + (message.isEmpty() ? "" : " " + message);
    }
}
