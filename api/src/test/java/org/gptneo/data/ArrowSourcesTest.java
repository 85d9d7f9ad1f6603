package org.gptneo.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Arrow and NeoX sources: our cache read back, Hugging Face {@code datasets} files and a NeoX pair written
 * by tools/reference/make_datasets.py (by hand, from the format specs), bounded memory, corrupt files.
 */
class ArrowSourcesTest {
    private static final int EOS = Gpt2Tokenizer.builtIn().eosTokenId();
    private static Path data;
    private static JsonNode expected;

    @TempDir
    Path dir;

    @BeforeAll
    static void fixtures() throws URISyntaxException, IOException {
        data = Path.of(ArrowSourcesTest.class.getResource("/data/expected.json").toURI()).getParent();
        expected = new ObjectMapper().readTree(data.resolve("expected.json").toFile());
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).intValue();
        }
        return out;
    }

    /** A fixture copied into the test's folder (caches are written next to their source). */
    private Path copy(String name) throws IOException {
        Path target = dir.resolve(name);
        Files.copy(data.resolve(name), target, StandardCopyOption.REPLACE_EXISTING);
        return target;
    }

    @Test
    void huggingFaceInputIdsStream() {
        try (TokenSource source = Datasets.open(data.resolve("hf_input_ids.arrow"), DatasetOptions.defaults())) {
            assertThat(TextDatasetsTest.all(source)).containsExactly(ints(expected.get("hf_input_ids.arrow")));
            assertThat(source.description()).endsWith("hf_input_ids.arrow: 21 tokens (Arrow IPC stream, column input_ids"
                    + " list<int32>, 3 record batches)");
            int[] window = new int[5];
            source.read(7, window, 0, 5);   // across the edge of batches 0 and 1, 1 and 2
            assertThat(window).containsExactly(EOS, 15496, 995, EOS, EOS);
        }
    }

    @Test
    void huggingFaceTextStreamIsTokenizedAndCached() throws IOException {
        Path file = copy("hf_text.arrow");
        List<String> texts = new ArrayList<>();
        expected.get("hf_text.arrow").forEach(t -> texts.add(t.asText()));
        try (TokenSource source = Datasets.open(file, DatasetOptions.defaults())) {
            assertThat(TextDatasetsTest.all(source)).containsExactly(TextDatasetsTest.expected(texts.toArray(String[]::new)));
            assertThat(source.description()).endsWith("written)");
        }
        assertThat(dir.resolve("hf_text.arrow.tokens.arrow")).isRegularFile();
        try (TokenSource source = Datasets.open(file, DatasetOptions.defaults())) {
            assertThat(source.description()).endsWith("reused)");
        }
        assertThatThrownBy(() -> Datasets.open(file, DatasetOptions.defaults().withTextField("body")))
                .isInstanceOf(DatasetException.class).hasMessageContaining("no string column \"body\"")
                .hasMessageContaining("[text Utf8]");
    }

    @Test
    void saveToDiskFolderIsItsArrowFilesInOrder() {
        try (TokenSource source = Datasets.open(data.resolve("hf_saved"), DatasetOptions.defaults())) {
            assertThat(TextDatasetsTest.all(source)).containsExactly(ints(expected.get("hf_saved")));
            assertThat(source.description()).contains("tokens in 2 files").contains("list<int64>");
        }
    }

    @Test
    void neoxIndexedDatasetByEitherFileOrPrefix() {
        int[] tokens = ints(expected.get("neox_uint16"));
        for (String name : new String[] {"neox_uint16.bin", "neox_uint16.idx", "neox_uint16"}) {
            try (TokenSource source = Datasets.open(data.resolve(name), DatasetOptions.defaults())) {
                assertThat(TextDatasetsTest.all(source)).as(name).containsExactly(tokens);
                assertThat(source.description()).endsWith("neox_uint16.bin: 14 tokens (GPT-NeoX indexed dataset, uint16,"
                        + " 4 sequences, 4 documents, memory-mapped)");
            }
        }
    }

    @Test
    void ourCacheReadsBackAsItsTokens() throws IOException {
        Path file = Files.writeString(dir.resolve("t.txt"), "a few words to cache, ".repeat(50));
        int[] tokens;
        DatasetOptions options = DatasetOptions.defaults().withCacheBatchTokens(16);
        try (TokenSource source = Datasets.open(file, options)) {
            tokens = TextDatasetsTest.all(source);
        }
        assertThat(tokens).containsExactly(TextDatasetsTest.expected("a few words to cache, ".repeat(50)));
        try (ArrowTokens cache = ArrowTokens.open(dir.resolve("t.txt.tokens.arrow"), EOS)) {
            assertThat(cache.recordBatches()).isEqualTo((tokens.length + 15) / 16);
            assertThat(TextDatasetsTest.all(cache)).containsExactly(tokens);
            Map<String, String> metadata = cache.metadata();
            JsonNode fingerprint = new ObjectMapper().readTree(metadata.get(TokenCache.FINGERPRINT_KEY));
            assertThat(fingerprint.get("format").intValue()).isEqualTo(TokenCache.FORMAT_VERSION);
            assertThat(fingerprint.get("eos").intValue()).isEqualTo(EOS);
            assertThat(fingerprint.get("tokenizer").asText()).hasSize(64);
            assertThat(fingerprint.get("files").get(0).get("path").asText()).isEqualTo("t.txt");
            assertThat(fingerprint.has("textField")).isFalse();   // plain text does not depend on it
        }
        // the cache is itself a source
        try (TokenSource direct = Datasets.open(dir.resolve("t.txt.tokens.arrow"), options)) {
            assertThat(TextDatasetsTest.all(direct)).containsExactly(tokens);
        }
    }

    @Test
    void anyArrowFileWithAnInt64TokenColumn() throws IOException {
        Path file = dir.resolve("ids.arrow");
        long[] ids = {5, 6, 7, EOS, 8, 9};
        Schema schema = new Schema(List.of(Field.notNullable("token_id", new ArrowType.Int(64, true))));
        try (BufferAllocator allocator = new RootAllocator(); VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator);
                FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE);
                ArrowFileWriter writer = new ArrowFileWriter(root, null, channel)) {
            writer.start();
            BigIntVector vector = (BigIntVector) root.getVector("token_id");
            for (int batch = 0; batch < 2; batch++) {
                vector.allocateNew(3);
                for (int i = 0; i < 3; i++) {
                    vector.set(i, ids[batch * 3 + i]);
                }
                root.setRowCount(3);
                writer.writeBatch();
            }
            writer.end();
        }
        try (TokenSource source = Datasets.open(file, DatasetOptions.defaults())) {
            assertThat(TextDatasetsTest.all(source)).containsExactly(5, 6, 7, EOS, 8, 9);
            assertThat(source.description()).contains("Arrow IPC file, column token_id int64, 2 record batches");
        }
    }

    @Test
    void memoryDoesNotGrowWithTheFile() throws IOException {
        Path file = Files.writeString(dir.resolve("m.txt"), "many words in many batches ".repeat(2_000));
        try (TokenSource written = Datasets.open(file, DatasetOptions.defaults().withCacheBatchTokens(100))) {
            assertThat(written.description()).endsWith("written)");
        }
        try (ArrowTokens cache = ArrowTokens.open(dir.resolve("m.txt.tokens.arrow"), EOS)) {
            assertThat(cache.recordBatches()).isGreaterThan(100);
            int[] window = new int[64];
            for (long from = 0; from < cache.length(); from += 64) {
                cache.read(from, window, 0, (int) Math.min(64, cache.length() - from));
                assertThat(cache.batchesHeld()).isLessThanOrEqualTo(ArrowTokens.HELD_BATCHES);
                assertThat(cache.arrowBytes()).isZero();   // decoded batches are arrays; Arrow buffers are freed
            }
            // a sequential pass decodes each batch once
            assertThat(cache.batchLoads()).isEqualTo(cache.recordBatches());
        }
    }

    @Test
    void truncatedArrowStreamIsNamed() throws IOException {
        Path file = copy("hf_input_ids.arrow");
        long size = Files.size(file);
        for (long keep : new long[] {size - 8, size - 30, 200, 6}) {   // no end marker; inside a body; inside metadata; the prefix
            Path cut = dir.resolve("cut-" + keep + ".arrow");
            Files.write(cut, Arrays.copyOf(Files.readAllBytes(file), (int) keep));
            assertThatThrownBy(() -> Datasets.open(cut, DatasetOptions.defaults())).as("kept %d bytes", keep)
                    .isInstanceOf(DatasetException.class).hasMessageStartingWith(cut + ": truncated")
                    .message().doesNotContain("\n");
        }
    }

    @Test
    void corruptNeoxIndexesAreNamed() throws IOException {
        Path bin = copy("neox_uint16.bin");
        Path idx = copy("neox_uint16.idx");
        byte[] good = Files.readAllBytes(idx);

        byte[] magic = good.clone();
        magic[0] = 'X';
        Files.write(idx, magic);
        assertThatThrownBy(() -> Datasets.open(bin, DatasetOptions.defaults()))
                .hasMessage(idx + ": not a GPT-NeoX/Megatron index (no MMIDIDX magic)");

        byte[] pastEnd = good.clone();   // sequence 3's size (the last int32 of sizes[4]) grows past the .bin
        ByteBuffer.wrap(pastEnd).order(ByteOrder.LITTLE_ENDIAN).putInt(34 + 3 * 4, 9);
        Files.write(idx, pastEnd);
        assertThatThrownBy(() -> Datasets.open(bin, DatasetOptions.defaults()))
                .hasMessage(idx + ": sequence 3 ends at byte 44, past the end of " + bin + " (28 bytes)");

        byte[] gap = good.clone();   // sequence 1 starts two bytes late
        ByteBuffer.wrap(gap).order(ByteOrder.LITTLE_ENDIAN).putLong(34 + 4 * 4 + 8, 10);
        Files.write(idx, gap);
        assertThatThrownBy(() -> Datasets.open(bin, DatasetOptions.defaults()))
                .hasMessage(idx + ": sequence 1 starts at byte 10 of the .bin, expected 8 (sequences must be back to back)");

        byte[] dtype = good.clone();
        dtype[17] = 7;
        Files.write(idx, dtype);
        assertThatThrownBy(() -> Datasets.open(bin, DatasetOptions.defaults()))
                .hasMessageStartingWith(idx + ": dtype code 7 (floating point, not token ids) is not supported");

        Files.write(idx, Arrays.copyOf(good, good.length - 1));
        assertThatThrownBy(() -> Datasets.open(bin, DatasetOptions.defaults()))
                .hasMessage(idx + ": 4 sequences and 5 documents need 122 bytes, the index has 121");

        Files.write(idx, good);
        Files.write(bin, Arrays.copyOf(Files.readAllBytes(data.resolve("neox_uint16.bin")), 30));
        assertThatThrownBy(() -> Datasets.open(bin, DatasetOptions.defaults()))
                .hasMessage(idx + ": the sequences cover 28 bytes but " + bin + " has 30");

        Files.delete(idx);
        assertThatThrownBy(() -> Datasets.open(bin, DatasetOptions.defaults()))
                .hasMessage(idx + ": missing (a GPT-NeoX indexed dataset is a .bin and an .idx file)");
    }

    @Test
    void negativeNeoxIdsFailOnRead() throws IOException {
        // an int16 (dtype 3) pair: one sequence of 3 tokens, the middle one -2
        ByteBuffer idx = ByteBuffer.allocate(34 + 4 + 8 + 16).order(ByteOrder.LITTLE_ENDIAN);
        idx.put("MMIDIDX\0\0".getBytes(StandardCharsets.US_ASCII)).putLong(1).put((byte) 3).putLong(1)
                .putLong(2).putInt(3).putLong(0).putLong(0).putLong(1);
        ByteBuffer bin = ByteBuffer.allocate(6).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 7).putShort((short) -2)
                .putShort((short) 9);
        Files.write(dir.resolve("signed.idx"), idx.array());
        Path binFile = Files.write(dir.resolve("signed.bin"), bin.array());
        try (TokenSource source = Datasets.open(dir.resolve("signed"), DatasetOptions.defaults())) {
            int[] dst = new int[3];
            source.read(0, dst, 0, 1);
            assertThat(dst[0]).isEqualTo(7);
            assertThatThrownBy(() -> source.read(0, dst, 0, 3)).isInstanceOf(DatasetException.class)
                    .hasMessage(binFile + ": token 1 is -2, not a valid id");
        }
    }

    @Test
    void readsOutsideTheSourceNameTheRange() {
        try (TokenSource source = Datasets.open(data.resolve("neox_uint16"), DatasetOptions.defaults())) {
            int[] dst = new int[4];
            assertThatThrownBy(() -> source.read(12, dst, 0, 4)).isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessage("tokens [12, 16) are outside the source's [0, 14)");
            assertThatThrownBy(() -> source.read(0, dst, 2, 4)).isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessage("destination range [2, 6) is outside the array's [0, 4)");
        }
    }
}
