package org.gptneo.data;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.flatbuf.MessageHeader;
import org.apache.arrow.flatbuf.RecordBatch;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorLoader;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.ReadChannel;
import org.apache.arrow.vector.ipc.message.ArrowBlock;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.ipc.message.MessageMetadataResult;
import org.apache.arrow.vector.ipc.message.MessageSerializer;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * The record batches of an Arrow IPC file ({@code ARROW1} magic, footer) or stream (messages one after
 * another, as Hugging Face {@code datasets} writes them), loaded one at a time. Opening reads only
 * message metadata (the footer's blocks, or one pass over a stream's message headers, skipping bodies),
 * so it costs the same for any file size; {@link #load} reads one batch's body into a reusable root.
 * Not thread-safe (callers synchronise).
 */
final class ArrowBatchFile implements AutoCloseable {
    static final byte[] FILE_MAGIC = "ARROW1".getBytes(StandardCharsets.US_ASCII);
    private static final int CONTINUATION = 0xFFFFFFFF;

    private final Path path;
    private final FileChannel channel;
    private final long fileSize;
    private final BufferAllocator allocator;
    private final boolean fileFormat;
    private final Schema schema;
    private final long[] messageOffsets;
    private final int[] rowCounts;
    private final VectorSchemaRoot root;
    private final VectorLoader loader;

    private ArrowBatchFile(Path path, FileChannel channel, BufferAllocator allocator, boolean fileFormat, Schema schema,
            long[] messageOffsets, int[] rowCounts) throws IOException {
        this.path = path;
        this.channel = channel;
        this.fileSize = channel.size();
        this.allocator = allocator;
        this.fileFormat = fileFormat;
        this.schema = schema;
        this.messageOffsets = messageOffsets;
        this.rowCounts = rowCounts;
        this.root = VectorSchemaRoot.create(schema, allocator);
        this.loader = new VectorLoader(root);
    }

    /** Whether {@code head} (a file's first bytes) starts an Arrow IPC file. */
    static boolean isFileFormat(byte[] head) {
        return startsWith(head, FILE_MAGIC);
    }

    /** Whether {@code head} starts an Arrow IPC stream (a continuation marker). */
    static boolean isStreamFormat(byte[] head) {
        return head.length >= 4 && (head[0] & head[1] & head[2] & head[3]) == (byte) 0xFF;
    }

    private static boolean startsWith(byte[] head, byte[] prefix) {
        if (head.length < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (head[i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Opens {@code path} and indexes its record batches; buffers come from {@code allocator}.
     *
     * @throws DatasetException when the file is not a complete, readable Arrow IPC file or stream
     */
    static ArrowBatchFile open(Path path, BufferAllocator allocator) {
        FileChannel channel = null;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
            byte[] head = new byte[8];
            int n = channel.read(ByteBuffer.wrap(head), 0);
            ArrowBatchFile file;
            if (n >= FILE_MAGIC.length && isFileFormat(head)) {
                file = openFileFormat(path, channel, allocator);
            } else if (n >= 4 && isStreamFormat(head)) {
                file = openStreamFormat(path, channel, allocator);
            } else {
                throw new DatasetException(path + ": not an Arrow IPC file (no ARROW1 magic) nor stream (no 0xFFFFFFFF marker)");
            }
            channel = null;
            return file;
        } catch (IOException | RuntimeException e) {
            if (e instanceof DatasetException d) {
                throw d;
            }
            throw new DatasetException(path + ": not a readable Arrow IPC file: " + Errors.oneLine(e), e);
        } finally {
            closeQuietly(channel);
        }
    }

    private static ArrowBatchFile openFileFormat(Path path, FileChannel channel, BufferAllocator allocator) throws IOException {
        Schema schema;
        List<ArrowBlock> blocks;
        try (FileChannel footer = FileChannel.open(path, StandardOpenOption.READ);
                ArrowFileReader reader = new ArrowFileReader(footer, allocator)) {
            schema = reader.getVectorSchemaRoot().getSchema();
            blocks = reader.getRecordBlocks();
            if (!reader.getDictionaryBlocks().isEmpty()) {
                throw new DatasetException(path + ": dictionary-encoded Arrow columns are not supported");
            }
        }
        long[] offsets = new long[blocks.size()];
        int[] rows = new int[blocks.size()];
        ReadChannel in = new ReadChannel(channel);
        for (int b = 0; b < blocks.size(); b++) {
            offsets[b] = blocks.get(b).getOffset();
            MessageMetadataResult message = readMessageAt(path, channel, in, offsets[b]);
            if (message == null || message.headerType() != MessageHeader.RecordBatch) {
                throw new DatasetException(path + ": footer block " + b + " at byte " + offsets[b] + " is not a record batch");
            }
            rows[b] = rowCount(path, message, offsets[b]);
        }
        return new ArrowBatchFile(path, channel, allocator, true, schema, offsets, rows);
    }

    private static ArrowBatchFile openStreamFormat(Path path, FileChannel channel, BufferAllocator allocator) throws IOException {
        ReadChannel in = new ReadChannel(channel);
        MessageMetadataResult first = readMessageAt(path, channel, in, 0);
        if (first == null || first.headerType() != MessageHeader.Schema) {
            throw new DatasetException(path + ": an Arrow IPC stream must start with a schema message");
        }
        Schema schema = MessageSerializer.deserializeSchema(first);
        long position = channel.position() + first.getMessageBodyLength();
        List<Long> offsets = new ArrayList<>();
        List<Integer> rows = new ArrayList<>();
        while (true) {
            MessageMetadataResult message = readMessageAt(path, channel, in, position);
            if (message == null) {
                break;
            }
            long bodyEnd = channel.position() + message.getMessageBodyLength();
            checkWithin(path, bodyEnd, channel.size(), position);
            if (message.headerType() == MessageHeader.RecordBatch) {
                offsets.add(position);
                rows.add(rowCount(path, message, position));
            } else if (message.headerType() == MessageHeader.DictionaryBatch) {
                throw new DatasetException(path + ": dictionary-encoded Arrow columns are not supported (message at byte "
                        + position + ")");
            } else {
                throw new DatasetException(path + ": unexpected Arrow message type " + message.headerType() + " at byte "
                        + position);
            }
            position = bodyEnd;
        }
        return new ArrowBatchFile(path, channel, allocator, false, schema, offsets.stream().mapToLong(Long::longValue).toArray(),
                rows.stream().mapToInt(Integer::intValue).toArray());
    }

    /**
     * The message whose encapsulation prefix starts at {@code offset}, the channel left at its body; null at
     * the end-of-stream marker.
     */
    private static MessageMetadataResult readMessageAt(Path path, FileChannel channel, ReadChannel in, long offset)
            throws IOException {
        long size = channel.size();
        ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        int n = channel.read(prefix, offset);
        if (n < 8) {
            throw new DatasetException(path + ": truncated: the Arrow stream ends at byte " + size
                    + " without its end-of-stream marker");
        }
        int marker = prefix.getInt(0);
        int length = prefix.getInt(4);
        if (marker != CONTINUATION) {
            throw new DatasetException(path + ": no Arrow message at byte " + offset + " (expected the 0xFFFFFFFF marker)");
        }
        if (length == 0) {
            return null;
        }
        if (length < 0) {
            throw new DatasetException(path + ": invalid Arrow message length " + length + " at byte " + offset);
        }
        checkWithin(path, offset + 8 + length, size, offset);
        channel.position(offset);
        MessageMetadataResult message = MessageSerializer.readMessage(in);
        if (message == null) {
            throw new DatasetException(path + ": unreadable Arrow message at byte " + offset);
        }
        return message;
    }

    private static void checkWithin(Path path, long end, long size, long offset) {
        if (end > size) {
            throw new DatasetException(path + ": truncated: the Arrow message at byte " + offset + " needs " + end
                    + " bytes, the file has " + size);
        }
    }

    private static int rowCount(Path path, MessageMetadataResult message, long offset) {
        RecordBatch batch = (RecordBatch) message.getMessage().header(new RecordBatch());
        if (batch.compression() != null) {
            throw new DatasetException(path + ": compressed Arrow buffers are not supported (record batch at byte " + offset
                    + ")");
        }
        long rows = batch.length();
        if (rows < 0 || rows > Integer.MAX_VALUE) {
            throw new DatasetException(path + ": record batch at byte " + offset + " has " + rows + " rows");
        }
        return (int) rows;
    }

    Path path() {
        return path;
    }

    Schema schema() {
        return schema;
    }

    /** "Arrow IPC file" or "Arrow IPC stream". */
    String format() {
        return fileFormat ? "Arrow IPC file" : "Arrow IPC stream";
    }

    int batches() {
        return rowCounts.length;
    }

    /** The rows of batch {@code b}, from its metadata. */
    int rows(int b) {
        return rowCounts[b];
    }

    /**
     * Reads batch {@code b} into the root (replacing what it held) and returns the root; {@link #release}
     * frees its buffers.
     */
    VectorSchemaRoot load(int b) {
        long offset = messageOffsets[b];
        try {
            ReadChannel in = new ReadChannel(channel);
            MessageMetadataResult message = readMessageAt(path, channel, in, offset);
            if (message == null || message.headerType() != MessageHeader.RecordBatch) {
                throw new DatasetException(path + ": no record batch at byte " + offset);
            }
            checkWithin(path, channel.position() + message.getMessageBodyLength(), fileSize, offset);
            ArrowBuf body = MessageSerializer.readMessageBody(in, message.getMessageBodyLength(), allocator);
            ArrowRecordBatch batch;
            try {
                batch = MessageSerializer.deserializeRecordBatch(message, body);   // takes over the body
            } catch (IOException | RuntimeException e) {
                body.close();
                throw e;
            }
            try (batch) {
                loader.load(batch);
            }
            return root;
        } catch (IOException | RuntimeException e) {
            root.clear();
            if (e instanceof DatasetException d) {
                throw d;
            }
            throw new DatasetException(path + ": unreadable record batch " + b + " at byte " + offset + ": " + Errors.oneLine(e), e);
        }
    }

    /** Frees the buffers of the last loaded batch. */
    void release() {
        root.clear();
    }

    @Override
    public void close() {
        root.close();
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                // closing a read-only channel: nothing was buffered, nothing is lost
            }
        }
    }
}
