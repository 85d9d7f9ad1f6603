package org.gptneo.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Text, folders and JSONL: tokenized into an Arrow cache that is reused while the source is unchanged. */
class TextDatasetsTest {
    private static final Gpt2Tokenizer TOKENIZER = Gpt2Tokenizer.builtIn();
    private static final int EOS = TOKENIZER.eosTokenId();

    @TempDir
    Path dir;

    static int[] all(TokenSource source) {
        int[] tokens = new int[Math.toIntExact(source.length())];
        source.read(0, tokens, 0, tokens.length);
        return tokens;
    }

    /** The tokens of {@code docs}, each followed by EOS. */
    static int[] expected(String... docs) {
        List<Integer> out = new ArrayList<>();
        for (String doc : docs) {
            for (int id : TOKENIZER.encode(doc)) {
                out.add(id);
            }
            out.add(EOS);
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void plainTextIsOneDocumentWithEos() throws IOException {
        Path file = Files.writeString(dir.resolve("corpus.txt"), "The dog is a good dog.\nIt barks <|endoftext|>at cats.\n");
        try (TokenSource source = Datasets.open(file, DatasetOptions.defaults())) {
            int[] tokens = all(source);
            assertThat(tokens).containsExactly(expected("The dog is a good dog.\nIt barks <|endoftext|>at cats.\n"));
            assertThat(TOKENIZER.decode(tokens)).isEqualTo(
                    "The dog is a good dog.\nIt barks <|endoftext|>at cats.\n<|endoftext|>");
            assertThat(source.description()).startsWith("corpus.txt: " + tokens.length + " tokens (Arrow cache ")
                    .contains(dir.resolve("corpus.txt.tokens.arrow").toString()).endsWith(", written)");
        }
        assertThat(dir.resolve("corpus.txt.tokens.arrow")).isRegularFile();
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("corpus.txt",
                    "corpus.txt.tokens.arrow");   // no temporary file left behind
        }
    }

    @Test
    void cacheIsReusedUntilTheSourceChanges() throws IOException {
        Path file = Files.writeString(dir.resolve("a.txt"), "first version");
        Path cache = dir.resolve("a.txt.tokens.arrow");
        try (TokenSource source = Datasets.open(file, DatasetOptions.defaults())) {
            assertThat(source.description()).endsWith("written)");
        }
        BasicFileAttributes before = Files.readAttributes(cache, BasicFileAttributes.class);
        try (TokenSource source = Datasets.open(file, DatasetOptions.defaults())) {
            assertThat(source.description()).endsWith("reused)");
            assertThat(all(source)).containsExactly(expected("first version"));
        }
        BasicFileAttributes after = Files.readAttributes(cache, BasicFileAttributes.class);
        assertThat(after.lastModifiedTime()).isEqualTo(before.lastModifiedTime());
        assertThat(after.fileKey()).isEqualTo(before.fileKey());   // the same inode: not rewritten

        Files.writeString(file, "second version, longer");
        try (TokenSource source = Datasets.open(file, DatasetOptions.defaults())) {
            assertThat(source.description()).endsWith("written)");
            assertThat(all(source)).containsExactly(expected("second version, longer"));
        }
        // same size, only the modification time differs: still rewritten
        Files.writeString(file, "second version, LONGER");
        Files.setLastModifiedTime(file, FileTime.fromMillis(after.lastModifiedTime().toMillis() + 5_000));
        try (TokenSource source = Datasets.open(file, DatasetOptions.defaults())) {
            assertThat(source.description()).endsWith("written)");
            assertThat(all(source)).containsExactly(expected("second version, LONGER"));
        }
        // another EOS id is another cache
        try (TokenSource source = Datasets.open(file, DatasetOptions.defaults().withEosTokenId(0))) {
            assertThat(source.description()).endsWith("written)");
            int[] tokens = all(source);
            assertThat(tokens[tokens.length - 1]).isZero();
        }
    }

    @Test
    void aCorruptCacheIsRewritten() throws IOException {
        Path file = Files.writeString(dir.resolve("b.txt"), "some text");
        Files.writeString(dir.resolve("b.txt.tokens.arrow"), "ARROW1 but then nothing sensible");
        try (TokenSource source = Datasets.open(file, DatasetOptions.defaults())) {
            assertThat(source.description()).endsWith("written)");
            assertThat(all(source)).containsExactly(expected("some text"));
        }
    }

    @Test
    void cacheDirHoldsCachesNamedByTheSourcePath() throws IOException {
        Path file = Files.writeString(dir.resolve("c.txt"), "cached elsewhere");
        Path caches = dir.resolve("caches");
        DatasetOptions options = DatasetOptions.defaults().withCacheDir(caches);
        try (TokenSource source = Datasets.open(file, options)) {
            assertThat(all(source)).containsExactly(expected("cached elsewhere"));
        }
        try (Stream<Path> files = Files.list(caches)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).singleElement().asString()
                    .matches("c\\.txt-[0-9a-f]{16}\\.tokens\\.arrow");
        }
        assertThat(dir.resolve("c.txt.tokens.arrow")).doesNotExist();
        try (TokenSource source = Datasets.open(file, options)) {
            assertThat(source.description()).endsWith("reused)");
        }
    }

    @Test
    void folderIsEveryFileSortedByRelativePath() throws IOException {
        Path corpus = Files.createDirectories(dir.resolve("corpus"));
        Files.createDirectories(corpus.resolve("b/nested"));
        Files.writeString(corpus.resolve("b/nested/z.txt"), "third");
        Files.writeString(corpus.resolve("a.txt"), "first");
        Files.writeString(corpus.resolve("b/docs.jsonl"), "{\"text\": \"second one\"}\n{\"text\": \"second two\"}\n");
        Files.writeString(corpus.resolve(".hidden.txt"), "never");
        Files.createDirectories(corpus.resolve(".git"));
        Files.writeString(corpus.resolve(".git/config"), "never");
        try (TokenSource source = Datasets.open(corpus, DatasetOptions.defaults())) {
            assertThat(all(source)).containsExactly(expected("first", "second one", "second two", "third"));
            assertThat(source.description()).startsWith("corpus: ");
        }
        assertThat(dir.resolve("corpus.tokens.arrow")).isRegularFile();
        try (TokenSource source = Datasets.open(corpus, DatasetOptions.defaults())) {
            assertThat(source.description()).endsWith("reused)");
        }
        Files.writeString(corpus.resolve("b/nested/z.txt"), "third, edited");
        try (TokenSource source = Datasets.open(corpus, DatasetOptions.defaults())) {
            assertThat(source.description()).endsWith("written)");
            assertThat(all(source)).containsExactly(expected("first", "second one", "second two", "third, edited"));
        }
    }

    @Test
    void jsonlWithACustomField() throws IOException {
        Path file = Files.writeString(dir.resolve("d.jsonl"),
                "{\"id\": 1, \"meta\": {\"text\": \"not this\"}, \"content\": \"caf\\u00e9 au lait\"}\r\n\n"
                        + "{\"content\": \"line two\", \"tags\": [1, 2]}");
        try (TokenSource source = Datasets.open(file, DatasetOptions.defaults().withTextField("content"))) {
            assertThat(all(source)).containsExactly(expected("café au lait", "line two"));
        }
        assertThatThrownBy(() -> Datasets.open(file, DatasetOptions.defaults()))
                .isInstanceOf(DatasetException.class)
                .hasMessage(file + ": line 1: no field \"text\" (set another with DatasetOptions.withTextField)");
    }

    @Test
    void badJsonlLinesAreNamed() throws IOException {
        Path malformed = Files.writeString(dir.resolve("e.jsonl"), "{\"text\": \"ok\"}\n{\"text\": \"unterminated}\n");
        assertThatThrownBy(() -> Datasets.open(malformed, DatasetOptions.defaults())).isInstanceOf(DatasetException.class)
                .hasMessageStartingWith(malformed + ": line 2: malformed JSON: ").message().doesNotContain("\n");
        Path number = Files.writeString(dir.resolve("f.jsonl"), "{\"text\": 5}\n");
        assertThatThrownBy(() -> Datasets.open(number, DatasetOptions.defaults()))
                .hasMessage(number + ": line 1: field \"text\" is a number, not a string");
        Path array = Files.writeString(dir.resolve("g.jsonl"), "[\"text\"]\n");
        assertThatThrownBy(() -> Datasets.open(array, DatasetOptions.defaults()))
                .hasMessage(array + ": line 1: not a JSON object");
        Path trailing = Files.writeString(dir.resolve("h.jsonl"), "{\"text\": \"a\"} {\"text\": \"b\"}\n");
        assertThatThrownBy(() -> Datasets.open(trailing, DatasetOptions.defaults()))
                .hasMessage(trailing + ": line 1: malformed JSON: content after the object");
        assertThat(dir.resolve("e.jsonl.tokens.arrow")).doesNotExist();   // nothing half-written stays
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
        }
    }

    @Test
    void invalidUtf8NamesTheByte() throws IOException {
        Path text = Files.write(dir.resolve("bad.txt"), new byte[] {'a', 'b', (byte) 0xC3, '(', 'c'});
        assertThatThrownBy(() -> Datasets.open(text, DatasetOptions.defaults()))
                .hasMessage(text + ": not valid UTF-8 at byte offset 2");
        Path jsonl = Files.write(dir.resolve("bad.jsonl"), "{\"text\": \"ok\"}\n{\"text\": \"\u00ff\"}\n".getBytes(
                StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> Datasets.open(jsonl, DatasetOptions.defaults()))
                .hasMessage(jsonl + ": line 2: not valid UTF-8 at byte offset 25");
    }

    @Test
    void missingEmptyAndUnknownPaths() throws IOException {
        Path missing = dir.resolve("nothing-here");
        assertThatThrownBy(() -> Datasets.open(missing, DatasetOptions.defaults())).isInstanceOf(DatasetException.class)
                .hasMessage(missing + ": no such file or folder");
        Path empty = Files.createFile(dir.resolve("empty.txt"));
        assertThatThrownBy(() -> Datasets.open(empty, DatasetOptions.defaults())).hasMessage(empty + ": empty file");
        Path emptyFolder = Files.createDirectories(dir.resolve("empty-folder"));
        Files.writeString(emptyFolder.resolve(".only-hidden"), "x");
        assertThatThrownBy(() -> Datasets.open(emptyFolder, DatasetOptions.defaults()))
                .hasMessageStartingWith(emptyFolder + ": no files in the folder");
        Path parquet = Files.writeString(dir.resolve("x.parquet"), "PAR1");
        assertThatThrownBy(() -> Datasets.open(parquet, DatasetOptions.defaults()))
                .hasMessageStartingWith(parquet + ": .parquet files are not supported; supported: plain text files");
        Path fakeArrow = Files.writeString(dir.resolve("x.arrow"), "not arrow");
        assertThatThrownBy(() -> Datasets.open(fakeArrow, DatasetOptions.defaults()))
                .hasMessageStartingWith(fakeArrow + ": not an Arrow IPC file").hasMessageContaining("GPT-NeoX .bin/.idx");
        Path lonelyBin = Files.writeString(dir.resolve("weights.bin"), "x");
        assertThatThrownBy(() -> Datasets.open(lonelyBin, DatasetOptions.defaults()))
                .hasMessage(dir.resolve("weights.idx") + ": missing (a GPT-NeoX indexed dataset is a .bin and an .idx file)");
    }

    @Test
    void longDocumentsTokenizedInChunksEqualTheWholeText() throws IOException {
        Random random = new Random(11);
        String[] words = {"the", "dog", "42", "café", "naïve", "'s", "don't", "!!", "  ", "\n", "\n\n", " \n ", "x1", "日本",
                "😀", "<|endoftext|>", "\t", "end."};
        StringBuilder text = new StringBuilder();
        while (text.length() < 20_000) {
            text.append(words[random.nextInt(words.length)]);
            if (random.nextInt(3) > 0) {
                text.append(random.nextBoolean() ? ' ' : '\n');
            }
        }
        Path file = Files.writeString(dir.resolve("long.txt"), text);
        for (int chunk : new int[] {1, 7, 100, 4096}) {
            DatasetOptions options = DatasetOptions.defaults().withChunkChars(chunk).withCacheBatchTokens(333)
                    .withCacheDir(dir.resolve("chunk" + chunk));
            try (TokenSource source = Datasets.open(file, options)) {
                assertThat(all(source)).as("chunks of %d", chunk).containsExactly(expected(text.toString()));
            }
        }
    }

    @Test
    void splitPointsEndAWordBeforeWhitespace() {
        assertThat(TextDocuments.lastSplit("ab cd", 1)).isEqualTo(2);
        assertThat(TextDocuments.lastSplit("ab cd\nef", 1)).isEqualTo(5);
        assertThat(TextDocuments.lastSplit("ab  cd", 1)).isEqualTo(2);   // the run's start, after 'b'
        assertThat(TextDocuments.lastSplit("a! b", 1)).isZero();          // punctuation before the space: no
        assertThat(TextDocuments.lastSplit("abcd", 1)).isZero();
    }
}
