package org.gptneo.data;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * The Arrow column that holds token ids: {@code token_id} (ours) or {@code input_ids} (Hugging Face),
 * of type int32, int64, or a list of either (one row per document).
 */
record TokenColumn(String name, boolean list, int bitWidth) {
    /** The column names looked for, in order. */
    static final List<String> NAMES = List.of("token_id", "input_ids");

    /**
     * The token column of {@code schema}, if it has one.
     *
     * @throws DatasetException when the column exists with another type
     */
    static Optional<TokenColumn> find(Schema schema, Path path) {
        for (String name : NAMES) {
            for (Field field : schema.getFields()) {
                if (field.getName().equals(name)) {
                    return Optional.of(of(field, path));
                }
            }
        }
        return Optional.empty();
    }

    private static TokenColumn of(Field field, Path path) {
        ArrowType type = field.getType();
        boolean list = type instanceof ArrowType.List;
        ArrowType element = list ? field.getChildren().getFirst().getType() : type;
        if (element instanceof ArrowType.Int i && i.getIsSigned() && (i.getBitWidth() == 32 || i.getBitWidth() == 64)) {
            return new TokenColumn(field.getName(), list, i.getBitWidth());
        }
        throw new DatasetException(path + ": column " + field.getName() + " has type " + type
                + (list ? "<" + element + ">" : "") + "; token ids must be int32, int64, or a list of either");
    }

    /** E.g. {@code "input_ids list<int32>"}. */
    String describe() {
        return name + " " + (list ? "list<int" + bitWidth + ">" : "int" + bitWidth);
    }
}
