package org.gptneo.data;

import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;

/**
 * Tokens from one column of an Arrow IPC file or stream: a flat int32/int64 column (our cache's
 * {@code token_id}) read as is, or a list&lt;int32|int64&gt; column (Hugging Face's {@code input_ids}),
 * one row per document, each followed by the EOS id. Record batches are read on demand and at most
 * {@link #HELD_BATCHES} decoded batches are held, so memory does not grow with the file.
 */
final class ArrowTokens implements TokenSource {
    /** Decoded batches kept: two, so a window across a batch edge does not reload either side. */
    static final int HELD_BATCHES = 2;

    private final ArrowBatchFile file;
    private final BufferAllocator allocator;
    private final TokenColumn column;
    private final int eos;
    private final long[] batchStart; // [batches + 1]: the first token of each batch, then the total
    private final int[] heldIndex = new int[HELD_BATCHES];
    private final int[][] held = new int[HELD_BATCHES][];
    private long batchLoads;
    private int nextVictim;
    private String description;
    private boolean closed;

    private ArrowTokens(ArrowBatchFile file, BufferAllocator allocator, TokenColumn column, int eos) {
        this.file = file;
        this.allocator = allocator;
        this.column = column;
        this.eos = eos;
        this.batchStart = new long[file.batches() + 1];
        Arrays.fill(heldIndex, -1);
        for (int b = 0; b < file.batches(); b++) {
            batchStart[b + 1] = batchStart[b] + (column.list() ? listTokens(b) : file.rows(b));
        }
        this.description = file.path() + ": " + TokenRanges.count(length()) + " tokens (" + file.format() + ", column "
                + column.describe() + ", " + file.batches() + " record batches)";
    }

    /**
     * Opens {@code path}'s token column; {@code eos} follows each row of a list column.
     *
     * @throws DatasetException when the file is unreadable or has no token column
     */
    static ArrowTokens open(Path path, int eos) {
        BufferAllocator allocator = new RootAllocator();
        ArrowBatchFile file = null;
        try {
            file = ArrowBatchFile.open(path, allocator);
            TokenColumn column = TokenColumn.find(file.schema(), path)
                    .orElseThrow(() -> new DatasetException(path + ": no token column"));
            ArrowTokens tokens = new ArrowTokens(file, allocator, column, eos);
            file = null;
            allocator = null;
            return tokens;
        } finally {
            if (file != null) {
                file.close();
            }
            if (allocator != null) {
                allocator.close();
            }
        }
    }

    /** Replaces the description (the cache names its source). */
    ArrowTokens describedAs(String text) {
        this.description = text;
        return this;
    }

    /** The schema's custom metadata (our cache's fingerprint lives there). */
    Map<String, String> metadata() {
        Map<String, String> metadata = file.schema().getCustomMetadata();
        return metadata == null ? Map.of() : metadata;
    }

    @Override
    public long length() {
        return batchStart[batchStart.length - 1];
    }

    @Override
    public synchronized void read(long from, int[] dst, int offset, int count) {
        if (closed) {
            throw new IllegalStateException("read after close: " + description);
        }
        TokenRanges.check(from, dst, offset, count, length());
        long position = from;
        int written = 0;
        while (written < count) {
            int b = batchOf(position);
            int[] tokens = batch(b);
            int start = (int) (position - batchStart[b]);
            int n = Math.min(count - written, tokens.length - start);
            System.arraycopy(tokens, start, dst, offset + written, n);
            written += n;
            position += n;
        }
    }

    /** The batch holding token {@code position} (skipping empty batches). */
    private int batchOf(long position) {
        int i = Arrays.binarySearch(batchStart, position);
        if (i < 0) {
            return -i - 2;
        }
        while (batchStart[i + 1] == position) { // empty batches start where the next one does
            i++;
        }
        return i;
    }

    /** The decoded tokens of batch {@code b}, from the held ones or loaded. */
    private int[] batch(int b) {
        for (int k = 0; k < HELD_BATCHES; k++) {
            if (heldIndex[k] == b) {
                return held[k];
            }
        }
        int[] tokens = decode(b);
        int slot = nextVictim;
        nextVictim = (nextVictim + 1) % HELD_BATCHES;
        heldIndex[slot] = b;
        held[slot] = tokens;
        return tokens;
    }

    private int[] decode(int b) {
        batchLoads++;
        VectorSchemaRoot root = file.load(b);
        try {
            FieldVector vector = root.getVector(column.name());
            int expected = (int) (batchStart[b + 1] - batchStart[b]);
            int[] out = new int[expected];
            if (column.list()) {
                ListVector list = (ListVector) vector;
                ArrowBuf offsets = list.getOffsetBuffer();
                FieldVector values = list.getDataVector();
                checkNoNulls(b, list, values);
                int n = 0;
                for (int row = 0; row < list.getValueCount(); row++) {
                    int end = offsets.getInt((long) (row + 1) * 4);
                    for (int i = offsets.getInt((long) row * 4); i < end; i++) {
                        out[n++] = id(values, i, b);
                    }
                    out[n++] = eos;
                }
            } else if (vector instanceof IntVector ints) {   // our cache: one bulk copy, then a check
                checkNoNulls(b, vector, vector);
                ints.getDataBuffer().nioBuffer(0, expected * 4).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(out);
                for (int i = 0; i < expected; i++) {
                    if (out[i] < 0) {
                        throw new DatasetException(file.path() + ": token id " + out[i] + " in record batch " + b + " (value "
                                + i + ") is not a valid id");
                    }
                }
            } else {
                checkNoNulls(b, vector, vector);
                for (int i = 0; i < expected; i++) {
                    out[i] = id(vector, i, b);
                }
            }
            return out;
        } finally {
            file.release();
        }
    }

    /** The number of tokens of list batch {@code b}: its values plus one EOS per row (reads the batch once). */
    private long listTokens(int b) {
        VectorSchemaRoot root = file.load(b);
        try {
            ListVector list = (ListVector) root.getVector(column.name());
            int rows = list.getValueCount();
            ArrowBuf offsets = list.getOffsetBuffer();
            long values = rows == 0 ? 0 : offsets.getInt((long) rows * 4) - offsets.getInt(0);
            if (values < 0 || values + rows > Integer.MAX_VALUE) {
                throw new DatasetException(file.path() + ": record batch " + b + " has invalid list offsets");
            }
            return values + rows;
        } finally {
            file.release();
        }
    }

    private void checkNoNulls(int b, FieldVector outer, FieldVector values) {
        if (outer.getNullCount() > 0 || values.getNullCount() > 0) {
            throw new DatasetException(file.path() + ": column " + column.name() + " has nulls in record batch " + b);
        }
    }

    private int id(FieldVector values, int i, int b) {
        long id = values instanceof IntVector ints ? ints.getDataBuffer().getInt((long) i * 4)
                : ((BigIntVector) values).getDataBuffer().getLong((long) i * 8);
        if (id < 0 || id > Integer.MAX_VALUE) {
            throw new DatasetException(file.path() + ": token id " + id + " in record batch " + b + " (value " + i
                    + ") is not a valid id");
        }
        return (int) id;
    }

    /** How many batches have been decoded so far (tests: reads stay bounded). */
    synchronized long batchLoads() {
        return batchLoads;
    }

    /** How many decoded batches are held now (at most {@link #HELD_BATCHES}). */
    synchronized int batchesHeld() {
        int n = 0;
        for (int[] tokens : held) {
            n += tokens == null ? 0 : 1;
        }
        return n;
    }

    /** Bytes of Arrow memory allocated now (0 between reads: decoded batches are plain arrays). */
    long arrowBytes() {
        return allocator.getAllocatedMemory();
    }

    int recordBatches() {
        return file.batches();
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Arrays.fill(held, null);
            file.close();
            allocator.close();
        }
    }
}
