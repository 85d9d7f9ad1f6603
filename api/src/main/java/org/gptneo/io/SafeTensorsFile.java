package org.gptneo.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Set;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.PlainSegments;
import org.gptneo.tensor.Q8Blocks;
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

    /** Elements converted per read in {@link #readInto}: 4 MiB of F32, a whole number of Q8 blocks. */
    private static final int READ_CHUNK = 1 << 20;

    private final Path path;
    private final String label;
    private final Arena arena;
    private final FileChannel channel;       // for reads that convert (readInto); open until close()
    private final MemorySegment data;
    private final long dataOffset;           // where data starts in the file
    private final SafeTensorsHeader header;
    private volatile boolean closed;

    private SafeTensorsFile(Path path, String label, Arena arena, FileChannel channel, MemorySegment data, long dataOffset,
                            SafeTensorsHeader header) {
        this.path = path;
        this.label = label;
        this.arena = arena;
        this.channel = channel;
        this.data = data;
        this.dataOffset = dataOffset;
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
        FileChannel channel = null;
        try {
            channel = FileChannel.open(file, StandardOpenOption.READ);
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
            MemorySegment data = PlainSegments.of(mapped.asSlice(8 + n), arena); // the class the kernels are compiled for
            return new SafeTensorsFile(file, label, arena, channel, data, 8 + n, header);
        } catch (IOException e) {
            closeQuietly(channel, arena);
            throw new CheckpointException(label + ": cannot read: " + describe(e), e);
        } catch (RuntimeException | Error e) {
            closeQuietly(channel, arena);
            throw e;
        }
    }

    private static void closeQuietly(FileChannel channel, Arena arena) {
        arena.close();
        try {
            if (channel != null) channel.close();
        } catch (IOException ignored) {
            // the open failed already; that error is the one to report
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

    /**
     * Copies tensor {@code name} (F32, F16 or BF16) into {@code target} (as many elements, any
     * floating-point dtype, Q8 included), converting: the file is read a chunk at a time into a buffer
     * of this call's, not through the mapping, so a converted load neither faults the file's pages in
     * one by one nor keeps them resident (reading costs a copy out of the page cache, several times
     * cheaper here than mapping the pages). Safe from several threads at once.
     *
     * @throws CheckpointException if the name is missing, its dtype is not one of those, or the file cannot be read
     */
    public void readInto(String name, Tensor target) {
        SafeTensorsHeader.Entry e = entry(name);
        DType stored = tensor(name).dtype();
        if (stored == DType.I32) {
            throw new CheckpointException(label + ": tensor '" + name + "' has dtype I32, not a floating-point type");
        }
        long elements = e.byteCount() / stored.bytes(1);
        if (target.size() != elements) {
            throw new IllegalArgumentException("cannot copy " + name + " (" + elements + " elements) into " + target);
        }
        int group = target.dtype() == DType.Q8 ? Q8Blocks.BLOCK : 1;   // a Q8 tensor is cut between whole blocks
        Tensor rows = target.reshape(Math.toIntExact(elements / group), group);
        try (Arena buffer = Arena.ofConfined()) {
            MemorySegment bytes = buffer.allocate(stored.bytes(Math.min(READ_CHUNK, elements)), 64);
            for (long from = 0; from < elements; from += READ_CHUNK) {
                int count = (int) Math.min(READ_CHUNK, elements - from);
                MemorySegment part = bytes.asSlice(0, stored.bytes(count));
                readFully(part, dataOffset + e.begin() + stored.bytes(from), name);
                rows.rows((int) (from / group), (int) ((from + count) / group)).copyFrom(Tensor.wrap(part, stored, count / group, group));
            }
        }
    }

    private void readFully(MemorySegment into, long position, String name) {
        ByteBuffer buffer = into.asByteBuffer();
        try {
            while (buffer.hasRemaining()) {
                if (channel.read(buffer, position + buffer.position()) < 0) {
                    throw new CheckpointException(label + ": tensor '" + name + "' ends past the end of the file");
                }
            }
        } catch (IOException ex) {
            throw new CheckpointException(label + ": cannot read tensor '" + name + "': " + describe(ex), ex);
        }
    }

    /** Unmaps and closes the file; views from {@link #tensor} become invalid. Calling it again does nothing. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            arena.close();
            try {
                channel.close();
            } catch (IOException e) {
                throw new CheckpointException(label + ": cannot close: " + describe(e), e);
            }
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
