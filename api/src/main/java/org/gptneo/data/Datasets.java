package org.gptneo.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Opens training data of any supported kind as a {@link TokenSource} (the CLI's {@code --data}). The
 * kind is detected from the path:
 *
 * <ol>
 *   <li>a folder with {@code dataset_info.json} or {@code state.json} and {@code data-*.arrow} files:
 *       a Hugging Face {@code save_to_disk} folder, its Arrow files in name order (as in 5);
 *   <li>any other folder: every regular file in it, recursively, sorted by relative path, hidden ones
 *       and our {@code *.tokens.arrow} caches skipped, each read as in 6 or 7 by its extension;
 *   <li>{@code X.bin} and {@code X.idx} (either, or the prefix {@code X}): a GPT-NeoX/Megatron indexed
 *       dataset, memory-mapped;
 *   <li>a file starting with {@code ARROW1} (an Arrow IPC file, e.g. our cache): its int32/int64
 *       {@code token_id} or {@code input_ids} column read directly, or its text column tokenized;
 *   <li>a file starting with {@code 0xFFFFFFFF} (an Arrow IPC stream, as Hugging Face {@code datasets}
 *       writes {@code data-*.arrow} and {@code cache-*.arrow}): its {@code input_ids} list column, one
 *       row per document and EOS after each, or its text column tokenized;
 *   <li>{@code *.jsonl} or {@code *.json}: one JSON object per line, its text field one document;
 *   <li>anything else: plain UTF-8 text, one document per file.
 * </ol>
 *
 * <p>Text (6, 7, and text columns of 4, 5) is tokenized once into an Arrow cache and reused while the
 * source is unchanged (see {@link DatasetOptions#cacheDir()}); EOS follows each document.
 */
public final class Datasets {
    /** The kinds, for messages. */
    static final String KINDS = "supported: plain text files, folders of them, JSONL (.jsonl/.json), Arrow IPC files"
            + " (token_id/input_ids or a text column), Hugging Face datasets Arrow streams and save_to_disk folders,"
            + " GPT-NeoX .bin/.idx pairs";
    private static final List<String> REFUSED = List.of(".parquet", ".safetensors", ".pt", ".pth", ".gz", ".zst", ".bz2",
            ".xz", ".zip", ".tar", ".npy");

    private Datasets() {}

    /**
     * Opens {@code path} as a token stream.
     *
     * @throws DatasetException when the path is missing, empty, malformed or of no supported kind (one line
     *     naming the file and, where it helps, the line or byte)
     */
    public static TokenSource open(Path path, DatasetOptions options) {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(options, "options");
        if (!Files.exists(path)) {
            Path[] pair = NeoxIndexedTokens.pairOf(path);
            if (Files.isRegularFile(pair[0]) && Files.isRegularFile(pair[1])) {
                return NeoxIndexedTokens.open(pair[0], pair[1]);
            }
            throw new DatasetException(path + ": no such file or folder");
        }
        if (Files.isDirectory(path)) {
            return isSavedDataset(path) ? openSavedDataset(path, options) : TokenCache.open(textFolder(path), options);
        }
        if (!Files.isRegularFile(path)) {
            throw new DatasetException(path + ": not a regular file or folder; " + KINDS);
        }
        String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".bin") || name.endsWith(".idx")) {
            Path[] pair = NeoxIndexedTokens.pairOf(path);
            return NeoxIndexedTokens.open(pair[0], pair[1]);
        }
        byte[] head = head(path);
        if (head.length == 0) {
            throw new DatasetException(path + ": empty file");
        }
        if (ArrowBatchFile.isFileFormat(head) || ArrowBatchFile.isStreamFormat(head)) {
            return openArrow(List.of(path), path, options);
        }
        if (name.endsWith(".arrow") || name.endsWith(".feather")) {
            throw new DatasetException(path + ": not an Arrow IPC file (no ARROW1 magic) nor stream (no 0xFFFFFFFF marker); "
                    + KINDS);
        }
        for (String suffix : REFUSED) {
            if (name.endsWith(suffix)) {
                throw new DatasetException(path + ": " + suffix + " files are not supported; " + KINDS);
            }
        }
        return TokenCache.open(Corpus.single(path, isJsonl(name) ? Corpus.Kind.JSONL : Corpus.Kind.TEXT), options);
    }

    private static boolean isJsonl(String lowerName) {
        return lowerName.endsWith(".jsonl") || lowerName.endsWith(".json");
    }

    private static byte[] head(Path path) {
        try (InputStream in = Files.newInputStream(path)) {
            return in.readNBytes(8);
        } catch (IOException e) {
            throw new DatasetException(path + ": cannot read: " + Errors.oneLine(e), e);
        }
    }

    private static boolean isSavedDataset(Path dir) {
        return (Files.isRegularFile(dir.resolve("dataset_info.json")) || Files.isRegularFile(dir.resolve("state.json")))
                && !savedDatasetFiles(dir).isEmpty();
    }

    private static List<Path> savedDatasetFiles(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> {
                String n = p.getFileName().toString();
                return n.startsWith("data-") && n.endsWith(".arrow") && Files.isRegularFile(p);
            }).sorted(Comparator.comparing(p -> p.getFileName().toString())).toList();
        } catch (IOException e) {
            throw new DatasetException(dir + ": cannot list: " + Errors.oneLine(e), e);
        }
    }

    private static TokenSource openSavedDataset(Path dir, DatasetOptions options) {
        return openArrow(savedDatasetFiles(dir), dir, options);
    }

    /**
     * Arrow files (one, or a saved dataset's several) as one source: their token columns read directly,
     * or their text columns tokenized into one cache.
     */
    private static TokenSource openArrow(List<Path> files, Path source, DatasetOptions options) {
        boolean tokens = hasTokenColumn(files.getFirst(), options);
        for (Path file : files) {
            if (hasTokenColumn(file, options) != tokens) {
                throw new DatasetException(file + ": has " + (tokens ? "no" : "a") + " token column, unlike " + files.getFirst());
            }
        }
        if (!tokens) {
            Path base = Files.isDirectory(source) ? source.toAbsolutePath() : source.toAbsolutePath().getParent();
            List<Path> absolute = files.stream().map(Path::toAbsolutePath).toList();
            return TokenCache.open(new Corpus(source.toAbsolutePath(), base, absolute,
                    absolute.stream().map(f -> Corpus.Kind.ARROW_TEXT).toList()), options);
        }
        if (files.size() == 1) {
            return ArrowTokens.open(files.getFirst(), options.eosTokenId());
        }
        List<TokenSource> parts = new ArrayList<>();
        try {
            for (Path file : files) {
                parts.add(ArrowTokens.open(file, options.eosTokenId()));
            }
            return new ConcatenatedTokens(parts, source.toString());
        } catch (RuntimeException e) {
            parts.forEach(TokenSource::close);
            throw e;
        }
    }

    /** Whether {@code file} has a token column; if not, it must have the text column. */
    private static boolean hasTokenColumn(Path file, DatasetOptions options) {
        Schema schema;
        try (BufferAllocator allocator = new RootAllocator(); ArrowBatchFile batches = ArrowBatchFile.open(file, allocator)) {
            schema = batches.schema();
        }
        if (TokenColumn.find(schema, file).isPresent()) {
            return true;
        }
        Optional<Field> text = schema.getFields().stream().filter(f -> f.getName().equals(options.textField())).findFirst();
        if (text.isPresent() && ArrowTextDocuments.isText(text.get())) {
            return false;
        }
        throw new DatasetException(file + ": no token column (" + String.join(" or ", TokenColumn.NAMES) + ") and no string column \""
                + options.textField() + "\"; its columns: " + schema.getFields().stream().map(f -> f.getName() + " " + f.getType())
                .toList());
    }

    /** The documents of a text folder. */
    private static Corpus textFolder(Path dir) {
        Path base = dir.toAbsolutePath().normalize();
        List<Path> files;
        try (Stream<Path> walk = Files.walk(base)) {
            files = walk.filter(p -> !isHidden(base, p) && Files.isRegularFile(p)
                    && !p.getFileName().toString().endsWith(TokenCache.SUFFIX))
                    .sorted(Comparator.comparing(p -> base.relativize(p).toString().replace('\\', '/'))).toList();
        } catch (IOException e) {
            throw new DatasetException(dir + ": cannot list: " + Errors.oneLine(e), e);
        }
        if (files.isEmpty()) {
            throw new DatasetException(dir + ": no files in the folder (hidden files and *" + TokenCache.SUFFIX
                    + " caches are skipped)");
        }
        List<Corpus.Kind> kinds = new ArrayList<>();
        for (Path file : files) {
            String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
            for (String suffix : Stream.concat(REFUSED.stream(), Stream.of(".arrow", ".feather", ".bin", ".idx")).toList()) {
                if (name.endsWith(suffix)) {
                    throw new DatasetException(file + ": a text folder holds only text and JSONL files; open " + suffix
                            + " files directly (" + KINDS + ")");
                }
            }
            try {
                if (Files.size(file) == 0) {
                    throw new DatasetException(file + ": empty file");
                }
            } catch (IOException e) {
                throw new DatasetException(file + ": cannot read: " + Errors.oneLine(e), e);
            }
            kinds.add(isJsonl(name) ? Corpus.Kind.JSONL : Corpus.Kind.TEXT);
        }
        return new Corpus(base, base, files, kinds);
    }

    private static boolean isHidden(Path base, Path p) {
        for (Path part : base.relativize(p)) {
            if (part.toString().startsWith(".")) {
                return true;
            }
        }
        return false;
    }
}
