package org.gptneo.data;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A GPT-NeoX / Megatron indexed dataset: {@code .idx} (magic {@code MMIDIDX\0\0}, u64 version 1, u8
 * dtype code, u64 sequence count N, u64 document count D, int32 sizes[N], int64 pointers[N], int64
 * doc_idx[D], all little-endian and unaligned) and {@code .bin} (the tokens, back to back). The token
 * stream is the sequences in order; NeoX's preprocessing already ended each document with EOD, so
 * nothing is inserted. Both files are memory-mapped and read in place; opening validates the index
 * (one pass over it) and reads check each id.
 */
final class NeoxIndexedTokens implements TokenSource {
    private static final byte[] MAGIC = "MMIDIDX\0\0".getBytes(StandardCharsets.US_ASCII);
    private static final int HEADER_BYTES = 9 + 8 + 1 + 8 + 8;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The token types of the dtype codes that hold integers (codes 6 and 7 are floating point). */
    enum Dtype {
        UINT8(1, 1), INT8(2, 1), INT16(3, 2), INT32(4, 4), INT64(5, 8), UINT16(8, 2);

        final int code;
        final int bytes;

        Dtype(int code, int bytes) {
            this.code = code;
            this.bytes = bytes;
        }

        static Dtype of(int code, Path idx) {
            for (Dtype d : values()) {
                if (d.code == code) {
                    return d;
                }
            }
            String why = code == 6 || code == 7 ? " (floating point, not token ids)" : "";
            throw new DatasetException(idx + ": dtype code " + code + why + " is not supported; token files use codes "
                    + Arrays.toString(Arrays.stream(values()).mapToInt(d -> d.code).toArray()));
        }
    }

    private final Path bin;
    private final Arena arena;
    private final MemorySegment tokens;
    private final Dtype dtype;
    private final long length;
    private final String description;
    private final AtomicBoolean closed = new AtomicBoolean();

    private NeoxIndexedTokens(Path bin, Arena arena, MemorySegment tokens, Dtype dtype, long sequences, long documents) {
        this.bin = bin;
        this.arena = arena;
        this.tokens = tokens;
        this.dtype = dtype;
        this.length = tokens.byteSize() / dtype.bytes;
        this.description = bin + ": " + TokenRanges.count(length) + " tokens (GPT-NeoX indexed dataset, "
                + dtype.name().toLowerCase(Locale.ROOT) + ", " + TokenRanges.count(sequences) + " sequences, "
                + TokenRanges.count(documents) + " documents, memory-mapped)";
    }

    /** The {@code .bin} and {@code .idx} pair of {@code path}: either file, or their common prefix. */
    static Path[] pairOf(Path path) {
        String name = path.getFileName().toString();
        String prefix = name.endsWith(".bin") || name.endsWith(".idx") ? name.substring(0, name.length() - 4) : name;
        return new Path[] {path.resolveSibling(prefix + ".bin"), path.resolveSibling(prefix + ".idx")};
    }

    /**
     * Maps and validates the pair.
     *
     * @throws DatasetException when a file is missing or the index is malformed or inconsistent with the .bin
     */
    static NeoxIndexedTokens open(Path bin, Path idx) {
        for (Path p : new Path[] {bin, idx}) {
            if (!Files.isRegularFile(p)) {
                throw new DatasetException(p + ": missing (a GPT-NeoX indexed dataset is a .bin and an .idx file)");
            }
        }
        Arena arena = Arena.ofShared();
        try {
            MemorySegment index = map(idx, arena);
            MemorySegment data = map(bin, arena);
            NeoxIndexedTokens tokens = validate(bin, idx, index, data, arena);
            arena = null;
            return tokens;
        } finally {
            if (arena != null) {
                arena.close();
            }
        }
    }

    private static MemorySegment map(Path file, Arena arena) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
        } catch (IOException e) {
            throw new DatasetException(file + ": cannot map: " + Errors.oneLine(e), e);
        }
    }

    private static NeoxIndexedTokens validate(Path bin, Path idx, MemorySegment index, MemorySegment data, Arena arena) {
        if (index.byteSize() < HEADER_BYTES
                || MemorySegment.mismatch(index, 0, MAGIC.length, MemorySegment.ofArray(MAGIC), 0, MAGIC.length) != -1) {
            throw new DatasetException(idx + ": not a GPT-NeoX/Megatron index (no MMIDIDX magic)");
        }
        long version = index.get(LONG, 9);
        if (version != 1) {
            throw new DatasetException(idx + ": index version " + version + " is not supported (only 1)");
        }
        Dtype dtype = Dtype.of(index.get(ValueLayout.JAVA_BYTE, 17) & 0xFF, idx);
        long sequences = index.get(LONG, 18);
        long documents = index.get(LONG, 26);
        long expected = HEADER_BYTES + 4 * sequences + 8 * sequences + 8 * documents;
        if (sequences < 0 || documents < 0 || sequences > index.byteSize() || expected != index.byteSize()) {
            throw new DatasetException(idx + ": " + sequences + " sequences and " + documents + " documents need " + expected
                    + " bytes, the index has " + index.byteSize());
        }
        long sizesAt = HEADER_BYTES;
        long pointersAt = sizesAt + 4 * sequences;
        long docsAt = pointersAt + 8 * sequences;
        long next = 0; // the byte where the next sequence must start
        for (long i = 0; i < sequences; i++) {
            int size = index.get(INT, sizesAt + 4 * i);
            long pointer = index.get(LONG, pointersAt + 8 * i);
            if (size < 0) {
                throw new DatasetException(idx + ": sequence " + i + " has negative size " + size);
            }
            if (pointer != next) {
                throw new DatasetException(idx + ": sequence " + i + " starts at byte " + pointer + " of the .bin, expected "
                        + next + " (sequences must be back to back)");
            }
            next = pointer + (long) size * dtype.bytes;
            if (next > data.byteSize()) {
                throw new DatasetException(idx + ": sequence " + i + " ends at byte " + next + ", past the end of " + bin
                        + " (" + data.byteSize() + " bytes)");
            }
        }
        if (next != data.byteSize()) {
            throw new DatasetException(idx + ": the sequences cover " + next + " bytes but " + bin + " has " + data.byteSize());
        }
        long previous = 0;
        for (long d = 0; d < documents; d++) {
            long doc = index.get(LONG, docsAt + 8 * d);
            if (doc < previous || doc > sequences) {
                throw new DatasetException(idx + ": doc_idx[" + d + "] = " + doc + " is not in [" + previous + ", " + sequences
                        + "]");
            }
            previous = doc;
        }
        return new NeoxIndexedTokens(bin, arena, data, dtype, sequences, Math.max(0, documents - 1));
    }

    @Override
    public long length() {
        return length;
    }

    @Override
    public void read(long from, int[] dst, int offset, int count) {
        TokenRanges.check(from, dst, offset, count, length);
        for (int i = 0; i < count; i++) {
            long at = (from + i) * dtype.bytes;
            long id = switch (dtype) {
                case UINT8 -> tokens.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
                case INT8 -> tokens.get(ValueLayout.JAVA_BYTE, at);
                case INT16 -> tokens.get(SHORT, at);
                case UINT16 -> tokens.get(SHORT, at) & 0xFFFF;
                case INT32 -> tokens.get(INT, at);
                case INT64 -> tokens.get(LONG, at);
            };
            if (id < 0 || id > Integer.MAX_VALUE) {
                throw new DatasetException(bin + ": token " + (from + i) + " is " + id + ", not a valid id");
            }
            dst[offset + i] = (int) id;
        }
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public void close() {
        if (!closed.getAndSet(true)) {
            arena.close();
        }
    }
}
