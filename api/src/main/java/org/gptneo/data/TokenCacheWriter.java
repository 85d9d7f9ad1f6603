package org.gptneo.data;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Writes a token cache: an Arrow IPC file with one non-null int32 column {@code token_id}, record
 * batches of a fixed number of tokens (the last one shorter) and the source's fingerprint in the
 * schema's metadata. Tokens go to a hidden temporary sibling of the target; {@link #commit} renames it
 * into place atomically, {@link #close} without a commit deletes it. Holds one batch in memory.
 */
final class TokenCacheWriter implements AutoCloseable {
    /** The cache's token column. */
    static final String COLUMN = "token_id";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path target;
    private final Path temporary;
    private final BufferAllocator allocator;
    private final VectorSchemaRoot root;
    private final IntVector vector;
    private final FileChannel channel;
    private final ArrowFileWriter writer;
    private final int batchTokens;
    private int filled;
    private long tokens;
    private boolean finished;

    TokenCacheWriter(Path target, Map<String, String> metadata, int batchTokens) {
        this.target = target.toAbsolutePath();
        this.temporary = this.target.resolveSibling("." + this.target.getFileName() + "."
                + Long.toUnsignedString(RANDOM.nextLong(), 36) + ".tmp");
        this.batchTokens = batchTokens;
        Schema schema = new Schema(List.of(Field.notNullable(COLUMN, new ArrowType.Int(32, true))), metadata);
        this.allocator = new RootAllocator();
        this.root = VectorSchemaRoot.create(schema, allocator);
        this.vector = (IntVector) root.getVector(COLUMN);
        try {
            Files.createDirectories(this.target.getParent());
            this.channel = FileChannel.open(temporary, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            this.writer = new ArrowFileWriter(root, null, channel);
            vector.allocateNew(batchTokens);
            writer.start();
        } catch (IOException | RuntimeException e) {
            abandon();
            throw new DatasetException(this.target + ": cannot write the token cache: " + Errors.oneLine(e), e);
        }
    }

    /** Appends one token id. */
    void add(int id) {
        vector.set(filled++, id);
        tokens++;
        if (filled == batchTokens) {
            flush();
        }
    }

    /** Appends token ids. */
    void add(int[] ids) {
        for (int id : ids) {
            add(id);
        }
    }

    /** The tokens written so far. */
    long tokens() {
        return tokens;
    }

    private void flush() {
        try {
            vector.setValueCount(filled);
            root.setRowCount(filled);
            writer.writeBatch();
            filled = 0;
        } catch (IOException e) {
            throw new DatasetException(target + ": cannot write the token cache: " + Errors.oneLine(e), e);
        }
    }

    /** Writes the last batch and the footer, then renames the file into place (replacing an old cache). */
    void commit() {
        if (filled > 0) {
            flush();
        }
        try {
            writer.end();
            channel.force(true);
            finished = true;
            writer.close();
            root.close();
            allocator.close();
            Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new DatasetException(target + ": cannot write the token cache: " + Errors.oneLine(e), e);
        } finally {
            deleteTemporary();
        }
    }

    @Override
    public void close() {
        if (!finished) {
            finished = true;
            abandon();
        }
    }

    private void abandon() {
        try {
            if (writer != null) {
                writer.close();
            } else if (channel != null) {
                channel.close();
            }
        } catch (IOException | RuntimeException e) {
            // the file is being thrown away; the error that led here is the one to report
        }
        root.close();
        allocator.close();
        deleteTemporary();
    }

    private void deleteTemporary() {
        try {
            Files.deleteIfExists(temporary);
        } catch (IOException e) {
            // a leftover hidden .tmp file is harmless: a later write uses a new random name
        }
    }
}
