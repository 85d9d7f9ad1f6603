package org.gptneo.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.gptneo.io.RestrictedUnpickler.StorageRef;
import org.gptneo.io.RestrictedUnpickler.TensorRef;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The restricted unpickler: what torch.save writes loads; anything else is refused, never run. */
class RestrictedUnpicklerTest {
    @TempDir
    Path dir;

    private static final RestrictedUnpickler.StorageResolver ANY_STORAGE =
            (key, type, location, numel) -> new StorageRef(key, type, location, numel);

    private static Map<String, TensorRef> read(byte[] pickle) {
        return RestrictedUnpickler.readStateDict("test.bin", pickle, ANY_STORAGE);
    }

    @Test
    void theBenignHandWrittenFixtureLoads() {
        try (TorchCheckpointFile f = TorchCheckpointFile.open(CheckpointFixtures.hostile("benign.bin"));
             Arena arena = Arena.ofConfined()) {
            assertThat(f.names()).containsExactly("x");
            assertThat(f.dtypeName("x")).isEqualTo("F32");
            assertThat(f.shape("x")).containsExactly(2, 3);
            Tensor t = Tensor.allocate(arena, DType.F32, 2, 3);
            f.copyInto("x", t);
            assertThat(t.toFloatArray()).containsExactly(1, 2, 3, 4, 5, 6);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "os_system.bin                 | global 'os.system' is not allowed",
        "builtins_eval.bin             | global 'builtins.eval' is not allowed",
        "posix_system_stack_global.bin | global 'posix.system' is not allowed",
        "unknown_opcode.bin            | unknown opcode 0xf0",
        "missing_storage.bin           | storage key '7' is not in the archive",
        "size_past_storage.bin         | tensor of size [4, 3] at offset 0 lies outside its storage '0' of 6 elements",
        "offset_past_storage.bin       | tensor of size [2, 3] at offset 2 lies outside its storage '0' of 6 elements",
        "non_contiguous.bin            | non-contiguous tensors are not supported",
        "canary_class.bin              | global 'org.gptneo.io.PickleCanary' is not allowed",
        "reduce_storage_type.bin       | REDUCE on torch.FloatStorage is not allowed",
    })
    void hostileFixturesAreRefusedByName(String file, String message) {
        assertThatThrownBy(() -> TorchCheckpointFile.open(CheckpointFixtures.hostile(file)))
                .isInstanceOf(CheckpointException.class)
                .hasMessageStartingWith(file + ": ")
                .hasMessageContaining(message)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void aClassNamedByAPickleIsNeverLoaded() {
        assertThatThrownBy(() -> TorchCheckpointFile.open(CheckpointFixtures.hostile("canary_class.bin")))
                .isInstanceOf(CheckpointException.class);
        // through the whole loader too
        Path model = CheckpointFixtures.copyFolder("bin_f32", dir.resolve("m"));
        try {
            Files.copy(CheckpointFixtures.hostile("canary_class.bin"), model.resolve("pytorch_model.bin"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        assertThatThrownBy(() -> HfCheckpoint.load(model, new org.gptneo.backend.conformance.ReferenceBackend()))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("PickleCanary");
        assertThat(PickleCanary.CanaryFlag.INITIALIZED.get()).as("PickleCanary's static initialiser ran").isFalse();
        assertThat(PickleCanary.CanaryFlag.INSTANTIATED.get()).isFalse();
    }

    @Test
    void hostileBinsAreRefusedThroughTheFolderLoader() throws IOException {
        for (String file : new String[] {"os_system.bin", "builtins_eval.bin", "unknown_opcode.bin", "missing_storage.bin",
            "size_past_storage.bin"}) {
            Path model = CheckpointFixtures.copyFolder("bin_f32", dir.resolve(file));
            Files.copy(CheckpointFixtures.hostile(file), model.resolve("pytorch_model.bin"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            assertThatThrownBy(() -> HfCheckpoint.load(model, new org.gptneo.backend.conformance.ReferenceBackend()))
                    .isInstanceOf(CheckpointException.class).hasMessageStartingWith("pytorch_model.bin: ");
        }
        assertThat(Files.exists(Path.of("/tmp/gptneo-pwned"))).isFalse();
    }

    @Test
    void javaBuiltPicklesOfTheSameShapeLoad() {
        Map<String, TensorRef> sd = read(TorchZip.benignPickle());
        assertThat(sd).containsOnlyKeys("x");
        assertThat(sd.get("x").shape()).containsExactly(2, 3);
        assertThat(sd.get("x").storage().key()).isEqualTo("0");
    }

    @Test
    void otherOpcodesAndGlobalsAreRefused() {
        // INST, OBJ, NEWOBJ, EXT1, BINBYTES: real opcodes a state dict never uses
        for (int op : new int[] {'i', 'o', 0x81, 0x82, 'B', 'd', 'l', '0'}) {
            byte[] p = new TorchZip.Pickle().proto(2).raw(op, 0, 0, 0, 0, '.').bytes();
            assertThatThrownBy(() -> read(p)).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("is not supported").hasMessageContaining(String.format("0x%02x", op));
        }
        for (String[] g : new String[][] {{"subprocess", "Popen"}, {"torch", "load"}, {"torch._utils", "_rebuild_qtensor"},
            {"numpy.core.multiarray", "_reconstruct"}, {"collections", "defaultdict"}, {"__builtin__", "getattr"}}) {
            byte[] p = new TorchZip.Pickle().proto(2).global(g[0], g[1]).raw(')', 'R', '.').bytes();
            assertThatThrownBy(() -> read(p)).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("global '" + g[0] + "." + g[1] + "' is not allowed");
        }
    }

    @Test
    void lyingLengthsAndBoundsAreRefusedWithoutAllocating() {
        // BINUNICODE claiming 2 GB, BINUNICODE8 claiming 2^62, FRAME claiming more than remains
        byte[] huge = new TorchZip.Pickle().proto(2).raw('X', 0xff, 0xff, 0xff, 0x7f, 'a', '.').bytes();
        assertThatThrownBy(() -> read(huge)).isInstanceOf(CheckpointException.class).hasMessageContaining("exceeds");
        byte[] huge8 = new TorchZip.Pickle().proto(4).raw(0x8d, 0, 0, 0, 0, 0, 0, 0, 0x40, '.').bytes();
        assertThatThrownBy(() -> read(huge8)).isInstanceOf(CheckpointException.class).hasMessageContaining("exceeds");
        byte[] frame = new TorchZip.Pickle().proto(4).raw(0x95, 0, 0, 0, 0, 0, 0, 1, 0, '.').bytes();
        assertThatThrownBy(() -> read(frame)).isInstanceOf(CheckpointException.class).hasMessageContaining("FRAME");
        // a million nested MARKs: bounded
        TorchZip.Pickle marks = new TorchZip.Pickle().proto(2);
        for (int i = 0; i < 1_000_000; i++) marks.raw('(');
        assertThatThrownBy(() -> read(marks.raw('.').bytes())).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("nested MARKs");
        // two million empty tuples: the stack is bounded
        TorchZip.Pickle tuples = new TorchZip.Pickle().proto(2);
        for (int i = 0; i < 2_000_000; i++) tuples.raw(')');
        assertThatThrownBy(() -> read(tuples.raw('.').bytes())).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("values on the stack");
        // deep nesting by memo (a list inside itself) neither recurses nor is accepted as a key
        byte[] cyclic = new TorchZip.Pickle().proto(2).raw(']', 'q', 0, 'h', 0, 'a', '}', 'h', 0, 'K', 1, 's', '.').bytes();
        assertThatThrownBy(() -> read(cyclic)).isInstanceOf(CheckpointException.class);
        // a LONG1 wider than 8 bytes, a memo entry never stored, no STOP, leftovers at STOP
        assertThatThrownBy(() -> read(new TorchZip.Pickle().proto(2).raw(0x8a, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, '.').bytes()))
                .hasMessageContaining("LONG1");
        assertThatThrownBy(() -> read(new TorchZip.Pickle().proto(2).raw('h', 7, '.').bytes())).hasMessageContaining("memo");
        assertThatThrownBy(() -> read(new TorchZip.Pickle().proto(2).raw('}').bytes())).hasMessageContaining("without STOP");
        assertThatThrownBy(() -> read(new TorchZip.Pickle().proto(2).raw('}', '}', '.').bytes())).hasMessageContaining("left");
        assertThatThrownBy(() -> read(new TorchZip.Pickle().proto(2).raw('.').bytes())).hasMessageContaining("underflow");
    }

    @Test
    void stateDictShapeIsEnforced() {
        // a list, a dict with a non-tensor value, a BUILD on a tensor, a storage outside a persistent id
        assertThatThrownBy(() -> read(new TorchZip.Pickle().proto(2).raw(']', '.').bytes())).hasMessageContaining("not a state dict");
        assertThatThrownBy(() -> read(new TorchZip.Pickle().proto(2).raw('}').str("a").integer(1).raw('s', '.').bytes()))
                .hasMessageContaining("'a' is a integer 1, not a tensor");
        assertThatThrownBy(() -> read(new TorchZip.Pickle().proto(2).raw('}').str("a").str("a").raw('s').str("a").str("b")
                .raw('s', '.').bytes())).hasMessageContaining("duplicate dict key 'a'");
        byte[] buildOnTensor = new TorchZip.Pickle().proto(2).raw('}').str("x")
                .tensor("FloatStorage", "0", 6, 0, new int[] {6}, new int[] {1}).raw('}', 'b', 's', '.').bytes();
        assertThatThrownBy(() -> read(buildOnTensor)).hasMessageContaining("BUILD on a tensor is not allowed");
        byte[] badPid = new TorchZip.Pickle().proto(2).str("file").raw('Q', '.').bytes();
        assertThatThrownBy(() -> read(badPid)).hasMessageContaining("persistent id");
        byte[] storageCall = new TorchZip.Pickle().proto(2).global("torch", "FloatStorage").str("x").raw(0x85, 'R', '.').bytes();
        assertThatThrownBy(() -> read(storageCall)).hasMessageContaining("REDUCE on torch.FloatStorage is not allowed");
    }

    @Test
    void legacyAndNonZipFilesAreNamed() throws IOException {
        Path legacy = dir.resolve("old.bin");
        Files.write(legacy, new byte[] {(byte) 0x80, 2, (byte) 0x8a, 10, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46});
        assertThatThrownBy(() -> TorchCheckpointFile.open(legacy)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("legacy (pre-1.6) torch.save");
        Path text = dir.resolve("text.bin");
        Files.writeString(text, "hello");
        assertThatThrownBy(() -> TorchCheckpointFile.open(text)).isInstanceOf(CheckpointException.class)
                .hasMessageStartingWith("text.bin: not a torch.save zip");
        Path noPickle = dir.resolve("nopkl.bin");
        Files.write(noPickle, TorchZip.zipEntries(Map.of("a/b", new byte[3])));
        assertThatThrownBy(() -> TorchCheckpointFile.open(noPickle)).hasMessageContaining("without <name>/data.pkl");
    }

    @Test
    void bigEndianArchivesAreByteSwapped() throws IOException {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(24).order(java.nio.ByteOrder.BIG_ENDIAN);
        for (int i = 1; i <= 6; i++) b.putFloat(i);
        Map<String, byte[]> entries = new java.util.LinkedHashMap<>(TorchZip.entries(TorchZip.zip(TorchZip.benignPickle(),
                Map.of("0", b.array()))));
        entries.put("archive/byteorder", "big".getBytes());
        Path file = dir.resolve("be.bin");
        Files.write(file, TorchZip.zipEntries(entries));
        try (TorchCheckpointFile f = TorchCheckpointFile.open(file); Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.allocate(arena, DType.F32, 2, 3);
            f.copyInto("x", t);
            assertThat(t.toFloatArray()).containsExactly(1, 2, 3, 4, 5, 6);
        }
    }
}
