package org.gptneo.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Text to tokenize into a cache: files in a fixed order, each read as plain text (one document),
 * JSONL (one document per line) or an Arrow string column (one document per row).
 *
 * @param source the path the user opened (names the cache)
 * @param base the folder file names in the fingerprint are relative to
 * @param files the files, in document order
 * @param kinds how each file is read
 */
record Corpus(Path source, Path base, List<Path> files, List<Kind> kinds) {
    /** How a file holds its documents. */
    enum Kind { TEXT, JSONL, ARROW_TEXT }

    /** One file of one kind. */
    static Corpus single(Path file, Kind kind) {
        Path absolute = file.toAbsolutePath();
        return new Corpus(absolute, absolute.getParent(), List.of(absolute), List.of(kind));
    }

    /** Whether the text field option matters (JSONL or Arrow files). */
    boolean usesTextField() {
        return kinds.stream().anyMatch(k -> k != Kind.TEXT);
    }

    /** The fingerprint entries of the files: relative path, size and modification time (ns) of each. */
    List<Map<String, Object>> stat() {
        List<Map<String, Object>> entries = new ArrayList<>();
        for (Path file : files) {
            try {
                BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
                Map<String, Object> entry = new LinkedHashMap<>();
                entry.put("path", base.relativize(file).toString().replace('\\', '/'));
                entry.put("size", attributes.size());
                entry.put("modifiedNanos", attributes.lastModifiedTime().to(TimeUnit.NANOSECONDS));
                entries.add(entry);
            } catch (IOException e) {
                throw new DatasetException(file + ": cannot read: " + Errors.oneLine(e), e);
            }
        }
        return entries;
    }

    /** Tokenizes every document, in order, each followed by the EOS id. */
    void tokenize(TokenCacheWriter out, DatasetOptions options) {
        for (int i = 0; i < files.size(); i++) {
            Path file = files.get(i);
            switch (kinds.get(i)) {
                case TEXT -> TextDocuments.tokenize(file, options, out);
                case JSONL -> JsonlDocuments.tokenize(file, options, out);
                case ARROW_TEXT -> ArrowTextDocuments.tokenize(file, options, out);
            }
        }
    }
}
