package org.gptneo.data;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A JSONL file: each non-blank line a JSON object whose {@link DatasetOptions#textField()} string is
 * one document. Lines are read as bytes and decoded as strict UTF-8 one at a time, then parsed with
 * Jackson's streaming parser (other fields are skipped unread), so one line is held at a time.
 */
final class JsonlDocuments {
    private static final JsonFactory JSON = new JsonFactory();

    private JsonlDocuments() {}

    /** Tokenizes each line's document into {@code out}, each followed by the EOS id. */
    static void tokenize(Path file, DatasetOptions options, TokenCacheWriter out) {
        try (InputStream in = Files.newInputStream(file)) {
            LineReader lines = new LineReader(in);
            long number = 0;
            while (lines.next()) {
                number++;
                String where = file + ": line " + number;
                String line = StrictUtf8.decode(lines.bytes(), lines.length(), lines.offset(), where);
                if (line.isBlank()) {
                    continue;
                }
                String text = textOf(line, options.textField(), where);
                out.add(options.tokenizer().encode(text));
                out.add(options.eosTokenId());
            }
        } catch (IOException e) {
            throw new DatasetException(file + ": cannot read: " + Errors.oneLine(e), e);
        }
    }

    /** The string value of {@code field} in the JSON object {@code line}. */
    static String textOf(String line, String field, String where) {
        try (JsonParser parser = JSON.createParser(line)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new DatasetException(where + ": not a JSON object");
            }
            String text = null;
            JsonToken token;
            while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                JsonToken value = parser.nextToken();
                if (name.equals(field)) {
                    if (value != JsonToken.VALUE_STRING) {
                        throw new DatasetException(where + ": field \"" + field + "\" is " + describe(value) + ", not a string");
                    }
                    text = parser.getText();
                } else {
                    parser.skipChildren();
                }
            }
            if (token != JsonToken.END_OBJECT || parser.nextToken() != null) {
                throw new DatasetException(where + ": malformed JSON: content after the object");
            }
            if (text == null) {
                throw new DatasetException(where + ": no field \"" + field + "\" (set another with DatasetOptions.withTextField)");
            }
            return text;
        } catch (JsonProcessingException e) {
            throw new DatasetException(where + ": malformed JSON: " + Errors.firstLine(e.getOriginalMessage()), e);
        } catch (IOException e) {
            throw new DatasetException(where + ": " + Errors.oneLine(e), e);
        }
    }

    private static String describe(JsonToken value) {
        return switch (value) {
            case VALUE_NULL -> "null";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            case START_ARRAY -> "an array";
            case START_OBJECT -> "an object";
            default -> String.valueOf(value);
        };
    }

    /** Splits a byte stream at '\n' (a trailing '\r' is dropped), keeping one line's bytes. */
    private static final class LineReader {
        private final InputStream in;
        private final byte[] block = new byte[1 << 16];
        private int blockPos;
        private int blockEnd;
        private byte[] line = new byte[256];
        private int length;
        private long lineOffset;
        private long nextOffset;

        LineReader(InputStream in) {
            this.in = in;
        }

        /** Reads the next line; false at the end of the stream. */
        boolean next() throws IOException {
            length = 0;
            lineOffset = nextOffset;
            boolean any = false;
            while (true) {
                if (blockPos == blockEnd) {
                    blockEnd = in.read(block);
                    blockPos = 0;
                    if (blockEnd <= 0) {
                        blockEnd = 0;
                        return any;
                    }
                }
                any = true;
                byte b = block[blockPos++];
                nextOffset++;
                if (b == '\n') {
                    if (length > 0 && line[length - 1] == '\r') {
                        length--;
                    }
                    return true;
                }
                if (length == line.length) {
                    line = Arrays.copyOf(line, length * 2);
                }
                line[length++] = b;
            }
        }

        byte[] bytes() {
            return line;
        }

        int length() {
            return length;
        }

        long offset() {
            return lineOffset;
        }
    }
}
