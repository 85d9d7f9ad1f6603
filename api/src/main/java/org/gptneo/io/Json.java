package org.gptneo.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Optional;
import java.util.OptionalInt;

/** Typed reads of optional config keys, with an error naming the key when a value has the wrong type. */
final class Json {
    private final JsonNode root;

    Json(JsonNode root) {
        this.root = root;
    }

    /** The first of {@code keys} present (aliases), as an int. */
    OptionalInt integer(String... keys) {
        for (String key : keys) {
            JsonNode v = root.get(key);
            if (v == null || v.isNull()) continue;
            if (!v.canConvertToExactIntegral() || !v.canConvertToInt()) {
                throw new IllegalArgumentException(key + " must be an integer, got " + v);
            }
            return OptionalInt.of(v.asInt());
        }
        return OptionalInt.empty();
    }

    Optional<Float> number(String key) {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) return Optional.empty();
        if (!v.isNumber()) {
            throw new IllegalArgumentException(key + " must be a number, got " + v);
        }
        return Optional.of(v.floatValue());
    }

    Optional<String> text(String key) {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) return Optional.empty();
        if (!v.isTextual()) {
            throw new IllegalArgumentException(key + " must be a string, got " + v);
        }
        return Optional.of(v.asText());
    }
}
