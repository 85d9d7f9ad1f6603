package org.gptneo.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.gptneo.backend.Backend;
import org.gptneo.backend.conformance.ReferenceBackend;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded mutation fuzzing of every file a checkpoint folder has: safetensors headers and data,
 * config.json, shard indexes, torch zip archives and the pickles inside them, and truncations.
 * Loading must either succeed or throw CheckpointException: never another exception type, never a
 * hang, never an OutOfMemoryError; and failed loads must not leak open files or mappings.
 */
class CheckpointFuzzTest {
    private static final int ITERATIONS = 3000;
    private final Backend backend = new ReferenceBackend();
    @TempDir
    Path dir;

    private enum Target { ST_HEADER, ST_DATA, CONFIG, ST_INDEX, BIN_ZIP, BIN_PICKLE, BIN_INDEX, TRUNCATE }

    private record Base(String folder, Map<String, byte[]> files) {}

    private static Base base(String folder) {
        Map<String, byte[]> files = new LinkedHashMap<>();
        try (Stream<Path> s = Files.list(CheckpointFixtures.folder(folder))) {
            for (Path f : s.sorted().toList()) {
                files.put(f.getFileName().toString(), Files.readAllBytes(f));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Base(folder, files);
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void mutatedCheckpointsOnlyEverFailWithCheckpointException() throws IOException {
        Base single = base("st_f32_head_buffers");
        Base sharded = base("st_bf16_sharded_head_buffers");
        Base bin = base("bin_f32");
        Base binSharded = base("bin_f16_sharded");
        Map<String, byte[]> pickleEntries = TorchZip.entries(bin.files().get("pytorch_model.bin"));
        String pickleName = "pytorch_model/data.pkl";
        long fdsBefore = openFiles();
        Random random = new Random(0x5EED_2024L);
        List<String> failures = new ArrayList<>();
        int loaded = 0, refused = 0;
        for (int i = 0; i < ITERATIONS; i++) {
            Target target = Target.values()[random.nextInt(Target.values().length)];
            Base b;
            String file;
            byte[] mutated;
            switch (target) {
                case ST_HEADER, ST_DATA -> {
                    b = single;
                    file = "model.safetensors";
                    byte[] bytes = b.files().get(file);
                    int headerEnd = 8 + (int) (bytes[0] & 0xFF | (bytes[1] & 0xFF) << 8);
                    mutated = target == Target.ST_HEADER ? mutate(bytes, 0, headerEnd, random, false)
                            : mutate(bytes, headerEnd, bytes.length, random, false);
                }
                case CONFIG -> {
                    b = random.nextBoolean() ? single : bin;
                    file = "config.json";
                    mutated = mutateText(b.files().get(file), random);
                }
                case ST_INDEX -> {
                    b = sharded;
                    file = "model.safetensors.index.json";
                    mutated = mutateText(b.files().get(file), random);
                }
                case BIN_INDEX -> {
                    b = binSharded;
                    file = "pytorch_model.bin.index.json";
                    mutated = mutateText(b.files().get(file), random);
                }
                case BIN_ZIP -> {
                    b = bin;
                    file = "pytorch_model.bin";
                    byte[] bytes = b.files().get(file);
                    mutated = mutate(bytes, 0, bytes.length, random, false);
                }
                case BIN_PICKLE -> {
                    b = bin;
                    file = "pytorch_model.bin";
                    Map<String, byte[]> entries = new LinkedHashMap<>(pickleEntries);
                    byte[] pickle = entries.get(pickleName);
                    entries.put(pickleName, mutate(pickle, 0, pickle.length, random, true));
                    mutated = TorchZip.zipEntries(entries);
                }
                default -> {
                    Base[] all = {single, sharded, bin, binSharded};
                    b = all[random.nextInt(all.length)];
                    List<String> names = new ArrayList<>(b.files().keySet());
                    file = names.get(random.nextInt(names.size()));
                    byte[] bytes = b.files().get(file);
                    mutated = java.util.Arrays.copyOf(bytes, random.nextInt(bytes.length + 1));
                }
            }
            Path folder = dir.resolve("it" + (i % 4));
            writeFolder(folder, b, file, mutated);
            LoadOptions options = switch (random.nextInt(3)) {
                case 0 -> LoadOptions.defaults();
                case 1 -> LoadOptions.training();
                default -> LoadOptions.defaults().withDtype(DType.BF16);
            };
            try (GptNeoModel model = HfCheckpoint.load(folder, backend, options)) {
                assertThat(model.parameters()).hasSize(30);
                loaded++;
            } catch (CheckpointException e) {
                refused++;
                if (e.getMessage() == null || e.getMessage().contains("\n")) {
                    failures.add("#" + i + " " + target + " " + file + ": message not one line: " + e.getMessage());
                }
            } catch (Throwable t) {
                failures.add("#" + i + " " + target + " " + b.folder() + "/" + file + ": " + t);
            }
        }
        assertThat(failures).as("non-CheckpointException failures").isEmpty();
        assertThat(refused).isGreaterThan(ITERATIONS / 4);
        assertThat(loaded).isGreaterThan(0);   // some mutations are harmless (data bytes, whitespace)
        if (fdsBefore >= 0) {
            assertThat(openFiles() - fdsBefore).as("file descriptors leaked by failed loads").isLessThan(20);
        }
        assertThat(mappingsOf(dir)).as("memory mappings leaked by failed loads").isZero();
    }

    private static void writeFolder(Path folder, Base b, String file, byte[] mutated) throws IOException {
        if (Files.isDirectory(folder)) {
            try (Stream<Path> s = Files.list(folder)) {
                for (Path p : s.toList()) Files.delete(p);
            }
        }
        Files.createDirectories(folder);
        for (Map.Entry<String, byte[]> e : b.files().entrySet()) {
            Files.write(folder.resolve(e.getKey()), e.getKey().equals(file) ? mutated : e.getValue());
        }
    }

    private static final int[] INTERESTING = {0, 1, 0x7f, 0x80, 0xff, '-', '9', '"', '{', '[', ']', '}', ',', ':', 'e',
        '(', 't', 'R', 'q', 'h', 'X', 'J', 0x8a, 0x95, 0x93, '.', '\n'};

    /** 1–4 byte-level mutations inside [from, to): bit flips, interesting bytes, inserts, deletes. */
    private static byte[] mutate(byte[] bytes, int from, int to, Random r, boolean pickle) {
        byte[] out = bytes.clone();
        int n = 1 + r.nextInt(4);
        for (int k = 0; k < n && to > from; k++) {
            int at = from + r.nextInt(Math.min(to, out.length) - from);
            switch (r.nextInt(pickle ? 5 : 4)) {
                case 0 -> out[at] ^= (byte) (1 << r.nextInt(8));
                case 1 -> out[at] = (byte) INTERESTING[r.nextInt(INTERESTING.length)];
                case 2 -> out = splice(out, at, 0, new byte[] {(byte) r.nextInt(256)});
                case 3 -> out = splice(out, at, Math.min(1 + r.nextInt(8), out.length - at), new byte[0]);
                default -> out[at] = (byte) r.nextInt(256);
            }
            to = Math.min(to, out.length);
        }
        return out;
    }

    /** JSON-aware mutations: a number replaced by an extreme value, a token duplicated or removed, or raw bytes. */
    private static byte[] mutateText(byte[] bytes, Random r) {
        String s = new String(bytes, StandardCharsets.UTF_8);
        switch (r.nextInt(4)) {
            case 0 -> {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("-?\\d+(\\.\\d+)?(e-?\\d+)?").matcher(s);
                List<int[]> spans = new ArrayList<>();
                while (m.find()) spans.add(new int[] {m.start(), m.end()});
                if (spans.isEmpty()) return mutate(bytes, 0, bytes.length, r, false);
                int[] span = spans.get(r.nextInt(spans.size()));
                String[] values = {"-1", "0", "1", "2147483647", "2147483648", "-2147483648", "99999999999999999999",
                    "1e308", "3.5", "null", "\"8\"", "[]", "{}", "true", "100000", "100001"};
                return (s.substring(0, span[0]) + values[r.nextInt(values.length)] + s.substring(span[1]))
                        .getBytes(StandardCharsets.UTF_8);
            }
            case 1 -> {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"[^\"]*\"").matcher(s);
                List<int[]> spans = new ArrayList<>();
                while (m.find()) spans.add(new int[] {m.start(), m.end()});
                if (spans.isEmpty()) return mutate(bytes, 0, bytes.length, r, false);
                int[] span = spans.get(r.nextInt(spans.size()));
                String[] values = {"\"../x\"", "\"/etc/passwd\"", "\"\"", "\"model.safetensors\"", "\"local\"", "\"linear\"",
                    "\"config.json\"", "\"..\"", "\"a\\u0000b\"", "\"pytorch_model.bin\""};
                return (s.substring(0, span[0]) + values[r.nextInt(values.length)] + s.substring(span[1]))
                        .getBytes(StandardCharsets.UTF_8);
            }
            default -> {
                return mutate(bytes, 0, bytes.length, r, false);
            }
        }
    }

    private static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
        byte[] out = new byte[b.length - remove + insert.length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, insert.length);
        System.arraycopy(b, at + remove, out, at + insert.length, b.length - at - remove);
        return out;
    }

    private static long openFiles() {
        Path fds = Path.of("/proc/self/fd");
        if (!Files.isDirectory(fds)) return -1;
        try (Stream<Path> s = Files.list(fds)) {
            return s.count();
        } catch (IOException e) {
            return -1;
        }
    }

    private static long mappingsOf(Path dir) {
        Path maps = Path.of("/proc/self/maps");
        if (!Files.isReadable(maps)) return 0;
        try {
            String prefix = dir.toAbsolutePath().toString();
            return Files.readAllLines(maps).stream().filter(l -> l.contains(prefix)).count();
        } catch (IOException e) {
            return 0;
        }
    }
}
