package org.gptneo.data;

import java.nio.file.Path;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.LargeVarCharVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;

/**
 * An Arrow file's string column ({@link DatasetOptions#textField()}, utf8 or large_utf8) as one
 * document per row, read one record batch at a time.
 */
final class ArrowTextDocuments {
    private ArrowTextDocuments() {}

    /** Whether {@code field} can hold documents. */
    static boolean isText(Field field) {
        return field.getType() instanceof ArrowType.Utf8 || field.getType() instanceof ArrowType.LargeUtf8;
    }

    /** Tokenizes each row's text into {@code out}, each followed by the EOS id. */
    static void tokenize(Path file, DatasetOptions options, TokenCacheWriter out) {
        try (BufferAllocator allocator = new RootAllocator(); ArrowBatchFile batches = ArrowBatchFile.open(file, allocator)) {
            String name = options.textField();
            Field field = batches.schema().getFields().stream().filter(f -> f.getName().equals(name)).findFirst()
                    .orElseThrow(() -> new DatasetException(file + ": no column \"" + name + "\""));
            if (!isText(field)) {
                throw new DatasetException(file + ": column \"" + name + "\" has type " + field.getType() + ", not a string");
            }
            for (int b = 0; b < batches.batches(); b++) {
                VectorSchemaRoot root = batches.load(b);
                try {
                    FieldVector vector = root.getVector(name);
                    for (int row = 0; row < vector.getValueCount(); row++) {
                        if (vector.isNull(row)) {
                            throw new DatasetException(file + ": column \"" + name + "\" is null in record batch " + b + ", row "
                                    + row);
                        }
                        byte[] utf8 = vector instanceof VarCharVector v ? v.get(row) : ((LargeVarCharVector) vector).get(row);
                        String where = file + ": record batch " + b + ", row " + row;
                        out.add(options.tokenizer().encode(StrictUtf8.decode(utf8, utf8.length, 0, where)));
                        out.add(options.eosTokenId());
                    }
                } finally {
                    batches.release();
                }
            }
        }
    }
}
