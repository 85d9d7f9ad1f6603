package org.gptneo.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.AbstractThrowableAssert;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsCorruptionTest {
    private static final String NAME = "t.safetensors";

    @TempDir
    Path dir;

    /** A file with header length {@code n} (as written, unchecked), then {@code rest}. */
    private static byte[] withLength(long n, byte[] rest) {
        ByteBuffer b = ByteBuffer.allocate(8 + rest.length).order(ByteOrder.LITTLE_ENDIAN);
        return b.putLong(n).put(rest).array();
    }

    /** A file with {@code json} as its header and {@code dataBytes} zero bytes of data. */
    private static byte[] file(String json, int dataBytes) {
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        return withLength(header.length, Arrays.copyOf(header, header.length + dataBytes));
    }

    private AbstractThrowableAssert<?, ? extends Throwable> assertRejected(byte[] bytes) throws IOException {
        Path p = dir.resolve(NAME);
        Files.write(p, bytes);
        return assertThatThrownBy(() -> SafeTensorsFile.open(p).close())
                .isInstanceOf(CheckpointException.class)
                .hasMessageStartingWith(NAME + ": ")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    private SafeTensorsFile open(byte[] bytes) throws IOException {
        Path p = dir.resolve(NAME);
        Files.write(p, bytes);
        return SafeTensorsFile.open(p);
    }

    @Test
    void emptyFile() throws IOException {
        assertRejected(new byte[0]).hasMessageContaining("0 bytes").hasMessageContaining("too short");
    }

    @Test
    void sevenByteFile() throws IOException {
        assertRejected(new byte[7]).hasMessageContaining("7 bytes").hasMessageContaining("too short");
    }

    @Test
    void missingFile() {
        assertThatThrownBy(() -> SafeTensorsFile.open(dir.resolve("absent.safetensors")))
                .isInstanceOf(CheckpointException.class)
                .hasMessage("absent.safetensors: cannot read: no such file");
    }

    @Test
    void directoryIsRejected() throws IOException {
        Path folder = Files.createDirectory(dir.resolve("folder.safetensors"));
        assertThatThrownBy(() -> SafeTensorsFile.open(folder))
                .isInstanceOf(CheckpointException.class)
                .hasMessage("folder.safetensors: is a directory, not a safetensors file");
    }

    @Test
    void headerLengthPastEndOfFile() throws IOException {
        assertRejected(withLength(1000, "{}".getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("header length 1000 is outside [2, 2]");
    }

    @Test
    void headerLengthTooSmall() throws IOException {
        assertRejected(withLength(1, "{}".getBytes(StandardCharsets.UTF_8))).hasMessageContaining("header length 1 ");
    }

    @Test
    void hugeHeaderLength() throws IOException {
        byte[] rest = "{}".getBytes(StandardCharsets.UTF_8);
        assertRejected(withLength(Long.MAX_VALUE - 7, rest)).hasMessageContaining("header length 9223372036854775800");
        assertRejected(withLength(-1L, rest)).hasMessageContaining("header length 18446744073709551615");
    }

    @Test
    void headerLengthOverTheLimit() throws IOException {
        assertRejected(withLength(100_000_001L, new byte[100])).hasMessageContaining("header length 100000001");
    }

    @Test
    void nonJsonHeader() throws IOException {
        assertRejected(file("{not json}", 0)).hasMessageContaining("not valid JSON");
        assertRejected(file("{\"a\": ", 0)).hasMessageContaining("not valid JSON");
        assertRejected(file("hello", 0)).hasMessageContaining("not a JSON object");
        assertRejected(file("{} x", 0)).hasMessageContaining("not valid JSON");
        assertRejected(file("{} {}", 0)).hasMessageContaining("not valid JSON");
    }

    @Test
    void invalidUtf8Header() throws IOException {
        byte[] bytes = file("{\"a\u00e9\": 1}", 0);
        bytes[11] = (byte) 0xFF;
        assertRejected(bytes).hasMessageContaining("not valid UTF-8");
    }

    @Test
    void jsonArrayHeader() throws IOException {
        assertRejected(file("[1, 2]", 0)).hasMessageContaining("not a JSON object");
    }

    @Test
    void missingDtype() throws IOException {
        assertRejected(file("{\"x\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4))
                .hasMessageContaining("tensor 'x' has no dtype");
    }

    @Test
    void unknownDtype() throws IOException {
        assertRejected(file("{\"x\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4))
                .hasMessageContaining("tensor 'x' has unknown dtype 'F33'");
    }

    @Test
    void malformedEntries() throws IOException {
        assertRejected(file("{\"x\":[1]}", 0)).hasMessageContaining("entry is not a JSON object");
        assertRejected(file("{\"x\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4)).hasMessageContaining("no shape");
        assertRejected(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4)).hasMessageContaining("no data_offsets");
        assertRejected(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4))
                .hasMessageContaining("data_offsets has 3 elements");
        assertRejected(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4))
                .hasMessageContaining("not a non-negative integer");
        assertRejected(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4))
                .hasMessageContaining("not a non-negative integer");
        assertRejected(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[18446744073709551616],\"data_offsets\":[0,4]}}", 4))
                .hasMessageContaining("not a non-negative integer");
    }

    @Test
    void negativeShape() throws IOException {
        assertRejected(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4))
                .hasMessageContaining("shape holds -1, not a non-negative integer");
    }

    @Test
    void offsetsEndBeforeBegin() throws IOException {
        assertRejected(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4))
                .hasMessageContaining("[4, 0] end before begin");
    }

    @Test
    void overlappingOffsets() throws IOException {
        assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12))
                .hasMessageContaining("tensor 'b'").hasMessageContaining("overlap");
    }

    @Test
    void holeBetweenTensors() throws IOException {
        assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12))
                .hasMessageContaining("hole").hasMessageContaining("[4, 8)");
        assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8))
                .hasMessageContaining("hole").hasMessageContaining("[0, 4)");
    }

    @Test
    void dataShorterThanDeclared() throws IOException {
        assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 10))
                .hasMessageContaining("data section holds 10 bytes, shorter than the 16");
    }

    @Test
    void trailingBytesAfterLastTensor() throws IOException {
        assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 7))
                .hasMessageContaining("3 trailing bytes");
        assertRejected(file("{}", 1)).hasMessageContaining("1 trailing bytes");
    }

    @Test
    void duplicateNames() throws IOException {
        assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8))
                .hasMessageContainingAll("not valid JSON", "uplicate", "a");
    }

    @Test
    void sizeMismatchBetweenShapeAndOffsets() throws IOException {
        assertRejected(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 12))
                .hasMessage(NAME + ": tensor 'x' data_offsets [0, 12] hold 12 bytes but F32 [2, 2] needs 16");
    }

    @Test
    void shapeProductOverflow() throws IOException {
        assertRejected(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4))
                .hasMessageContaining("overflows");
        assertRejected(file("{\"x\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,4]}}", 4))
                .hasMessageContaining("overflows");
    }

    @Test
    void nonStringMetadataValue() throws IOException {
        assertRejected(file("{\"__metadata__\":{\"format\":\"pt\",\"n\":1}}", 0))
                .hasMessageContaining("__metadata__ value of 'n' is not a string");
        assertRejected(file("{\"__metadata__\":[\"pt\"]}", 0))
                .hasMessageContaining("__metadata__ is not a JSON object");
    }

    @Test
    void validHandWrittenFileWithOtherDtypes() throws IOException {
        String json = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"z\":{\"dtype\":\"BOOL\",\"shape\":[],\"data_offsets\":[24,25]},"
                + "\"big\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                + "\"wide\":{\"dtype\":\"F32\",\"shape\":[3000000000,0],\"data_offsets\":[16,16]},"
                + "\"f8\":{\"dtype\":\"F8_E4M3\",\"shape\":[8],\"data_offsets\":[16,24]}}";
        try (SafeTensorsFile st = open(file(json, 25))) {
            assertThat(st.names()).containsExactly("big", "wide", "f8", "z");
            assertThat(st.metadata()).containsExactly(Map.entry("format", "pt"));
            assertThat(st.dtypeName("big")).isEqualTo("I64");
            assertThat(st.shape("z")).isEmpty();
            assertThat(st.shape("wide")).containsExactly(3_000_000_000L, 0L);
            assertThatThrownBy(() -> st.tensor("big"))
                    .isInstanceOf(CheckpointException.class)
                    .hasMessage(NAME + ": tensor 'big' has dtype I64, which is not supported here");
            assertThatThrownBy(() -> st.tensor("wide"))
                    .isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("tensor 'wide' dimension 0 is 3000000000");
            assertThatThrownBy(() -> st.tensor("nope"))
                    .isInstanceOf(CheckpointException.class)
                    .hasMessage(NAME + ": no tensor named 'nope'");
            assertThatThrownBy(() -> st.shape("nope")).isInstanceOf(CheckpointException.class);
            assertThatThrownBy(() -> st.dtypeName("nope")).isInstanceOf(CheckpointException.class);
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void fuzzedFilesOpenOrFailCleanly() throws IOException {
        Path valid = dir.resolve("valid.safetensors");
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            tensors.put("w", Tensor.of(arena, new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
            tensors.put("b", Tensor.of(arena, new float[] {0.5f, -0.5f}, 2).to(arena, DType.BF16));
            tensors.put("h", Tensor.of(arena, new float[] {7}, 1).to(arena, DType.F16));
            tensors.put("ids", Tensor.ofInts(arena, new int[] {3, 1, 4}, 3));
            tensors.put("s", Tensor.of(arena, new float[] {9}));
            SafeTensorsWriter.write(valid, tensors, Map.of("format", "pt"));
        }
        byte[] original = Files.readAllBytes(valid);
        Random random = new Random(20240613L);
        Path p = dir.resolve(NAME);
        int opened = 0;
        int rejected = 0;
        for (int attempt = 0; attempt < 2000; attempt++) {
            byte[] bytes = original.clone();
            int mutations = 1 + random.nextInt(3);
            for (int m = 0; m < mutations; m++) {
                int pos = random.nextInt(Math.min(200, bytes.length));
                switch (random.nextInt(4)) {
                    case 0 -> bytes[pos] ^= (byte) (1 << random.nextInt(8));
                    case 1 -> bytes[pos] = (byte) random.nextInt(256);
                    case 2 -> bytes[pos] = (byte) "{}[]\",:0123456789 -eE.".charAt(random.nextInt(22));
                    default -> bytes = Arrays.copyOf(bytes, random.nextInt(bytes.length + 1));
                }
                if (bytes.length == 0) {
                    break;
                }
            }
            Files.write(p, bytes);
            try (SafeTensorsFile st = SafeTensorsFile.open(p)) {
                for (String name : st.names()) {
                    st.shape(name);
                    st.dtypeName(name);
                    try {
                        Tensor t = st.tensor(name);
                        if (t.dtype() == DType.I32) {
                            t.toIntArray();
                        } else {
                            t.toFloatArray();
                        }
                    } catch (CheckpointException unsupported) {
                        // e.g. a dtype mutated into one this reader does not map to a Tensor
                    }
                }
                opened++;
            } catch (CheckpointException expected) {
                assertThat(expected.getMessage()).startsWith(NAME + ": ").doesNotContain("\n");
                rejected++;
            } catch (Throwable other) {
                fail("attempt " + attempt + " threw " + other + " for bytes "
                        + new String(bytes, StandardCharsets.ISO_8859_1), other);
            }
        }
        assertThat(opened + rejected).isEqualTo(2000);
        assertThat(opened).as("some mutations are harmless").isPositive();
        assertThat(rejected).as("most mutations are caught").isGreaterThan(1000);
    }
}
