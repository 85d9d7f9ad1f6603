package org.gptneo.io;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Enumeration;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.gptneo.io.RestrictedUnpickler.StorageRef;
import org.gptneo.io.RestrictedUnpickler.StorageType;
import org.gptneo.io.RestrictedUnpickler.TensorRef;
import org.gptneo.tensor.Tensor;

/**
 * A PyTorch state dict in the zip format {@code torch.save} writes since 1.6 (e.g. Hugging Face's
 * {@code pytorch_model.bin}): {@code <prefix>/data.pkl} (the pickle), {@code <prefix>/data/<key>}
 * (one entry per storage, raw little-endian elements), {@code <prefix>/version} and, from torch 2,
 * {@code <prefix>/byteorder}. {@link #open} reads the pickle with {@link RestrictedUnpickler} (data
 * only: nothing it names is instantiated) and checks every tensor against its storage entry; tensor
 * data is read later, in chunks, straight from the zip entries into off-heap tensors.
 *
 * <p>The legacy pre-1.6 format (a bare pickle stream) is refused with a message saying so.
 */
public final class TorchCheckpointFile implements AutoCloseable {
    /** Largest data.pkl read into memory (the 2.7B model's is about 40 KB). */
    static final long MAX_PICKLE_BYTES = 64L << 20;

    private final Path path;
    private final String label;
    private final ZipFile zip;
    private final String prefix;
    private final boolean bigEndian;
    private final Map<String, TensorRef> tensors;

    private TorchCheckpointFile(Path path, String label, ZipFile zip, String prefix, boolean bigEndian,
                                Map<String, TensorRef> tensors) {
        this.path = path;
        this.label = label;
        this.zip = zip;
        this.prefix = prefix;
        this.bigEndian = bigEndian;
        this.tensors = tensors;
    }

    /**
     * Opens {@code file} and reads its state dict (names, dtypes, shapes).
     *
     * @throws CheckpointException if it is not a torch zip checkpoint, the pickle is refused, or a
     *     tensor does not fit its storage
     */
    public static TorchCheckpointFile open(Path file) {
        String label = SafeTensorsFile.label(file);
        if (Files.isDirectory(file)) {
            throw new CheckpointException(label + ": is a directory, not a torch checkpoint");
        }
        checkMagic(file, label);
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (IOException | RuntimeException e) {
            throw new CheckpointException(label + ": not a readable zip archive (" + oneLine(e) + ")", e);
        }
        try {
            String prefix = findPrefix(zip, label);
            boolean bigEndian = byteOrder(zip, prefix, label);
            byte[] pickle = readSmall(zip, prefix + "/data.pkl", label, MAX_PICKLE_BYTES);
            Map<String, TensorRef> tensors = RestrictedUnpickler.readStateDict(label, pickle,
                    (key, type, location, numel) -> resolve(zip, prefix, label, key, type, location, numel));
            return new TorchCheckpointFile(file, label, zip, prefix, bigEndian, Collections.unmodifiableMap(tensors));
        } catch (RuntimeException | Error e) {
            closeQuietly(zip);
            if (e instanceof CheckpointException || e instanceof Error) throw e;
            throw new CheckpointException(label + ": corrupt zip archive (" + oneLine(e) + ")", e);
        }
    }

    public Path path() {
        return path;
    }

    /** The state dict's keys, in pickle order. */
    public Set<String> names() {
        return tensors.keySet();
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /** The dtype as a safetensors name: F32, F16, BF16, F64, I64, I32, I16, I8, U8 or BOOL. */
    public String dtypeName(String name) {
        return ref(name).storage().type().dtypeName;
    }

    /** The shape (a copy; empty for a scalar). */
    public long[] shape(String name) {
        return ref(name).shape().clone();
    }

    /** Copies tensor {@code name} (F64/F32/F16/BF16) into {@code target}, converting to its dtype. */
    void copyInto(String name, Tensor target) {
        TensorRef t = ref(name);
        String dtype = t.storage().type().dtypeName;
        if (TensorCopy.floatSize(dtype) < 0) {
            throw new CheckpointException(label + ": tensor '" + name + "' has dtype " + dtype + ", not a floating-point type");
        }
        if (target.size() != t.numel()) {
            throw new IllegalArgumentException("cannot copy " + t + " into " + target);
        }
        try (InputStream in = openAt(t)) {
            TensorCopy.copy(in, dtype, bigEndian, target);
        } catch (IOException | RuntimeException e) {
            if (e instanceof CheckpointException ce) throw ce;
            throw new CheckpointException(label + ": cannot read tensor '" + name + "': " + oneLine(e), e);
        }
    }

    /**
     * True when tensor {@code a} of this file and tensor {@code b} of {@code other} (possibly this
     * file) hold the same floating-point values, compared as streams in chunks.
     */
    boolean sameValues(String a, TorchCheckpointFile other, String b) {
        TensorRef ta = ref(a), tb = other.ref(b);
        if (ta.numel() != tb.numel()) return false;
        if (other == this && ta.storage().key().equals(tb.storage().key())
                && ta.storage().type() == tb.storage().type() && ta.offset() == tb.offset()) {
            return true; // the same elements of the same storage (a tied weight saved once)
        }
        String da = ta.storage().type().dtypeName, db = tb.storage().type().dtypeName;
        if (TensorCopy.floatSize(da) < 0 || TensorCopy.floatSize(db) < 0) return false;
        try (InputStream ia = openAt(ta); InputStream ib = other.openAt(tb)) {
            return TensorCopy.sameValues(ia, da, bigEndian, ib, db, other.bigEndian, ta.numel());
        } catch (IOException | RuntimeException e) {
            if (e instanceof CheckpointException ce) throw ce;
            throw new CheckpointException(label + ": cannot read tensors '" + a + "' and '" + b + "': " + oneLine(e), e);
        }
    }

    @Override
    public void close() {
        closeQuietly(zip);
    }

    @Override
    public String toString() {
        return "TorchCheckpointFile[" + path + ", " + tensors.size() + " tensors]";
    }

    // ---- internals -----------------------------------------------------------------------------

    private TensorRef ref(String name) {
        TensorRef t = tensors.get(name);
        if (t == null) {
            throw new CheckpointException(label + ": no tensor named '" + name + "'");
        }
        return t;
    }

    /** A stream positioned at the tensor's first element. */
    private InputStream openAt(TensorRef t) throws IOException {
        ZipEntry entry = zip.getEntry(prefix + "/data/" + t.storage().key());
        InputStream in = zip.getInputStream(entry);
        try {
            in.skipNBytes(t.offset() * t.storage().type().elementSize);
        } catch (EOFException e) {
            in.close();
            throw new CheckpointException(label + ": storage '" + t.storage().key() + "' ends before offset " + t.offset(), e);
        }
        return in;
    }

    private static StorageRef resolve(ZipFile zip, String prefix, String label, String key, StorageType type,
                                      String location, long numel) {
        boolean plainKey = !key.isEmpty() && key.length() <= 64 && !key.equals(".") && !key.equals("..")
                && key.chars().allMatch(c -> c > 0x20 && c < 0x7F && c != '/' && c != '\\');
        if (!plainKey) {
            throw new CheckpointException(label + ": storage key '" + RestrictedUnpickler.printable(key)
                    + "' is not a plain name");
        }
        String name = prefix + "/data/" + key;
        ZipEntry entry = zip.getEntry(name);
        if (entry == null || entry.isDirectory()) {
            throw new CheckpointException(label + ": storage key '" + key + "' is not in the archive (no " + name + ")");
        }
        long needed = numel * type.elementSize;   // checked not to overflow by the unpickler
        long size = entry.getSize();
        if (size >= 0 && size < needed) {
            throw new CheckpointException(label + ": storage '" + key + "' holds " + size + " bytes but "
                    + numel + " " + type.dtypeName + " elements need " + needed);
        }
        return new StorageRef(key, type, location, numel);
    }

    /** The single top-level folder holding data.pkl. */
    private static String findPrefix(ZipFile zip, String label) {
        String prefix = null;
        for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
            String name = e.nextElement().getName();
            int slash = name.indexOf('/');
            if (slash > 0 && name.substring(slash).equals("/data.pkl")) {
                if (prefix != null) {
                    throw new CheckpointException(label + ": more than one data.pkl in the archive");
                }
                prefix = name.substring(0, slash);
            }
        }
        if (prefix == null) {
            throw new CheckpointException(label + ": a zip archive without <name>/data.pkl is not a torch.save checkpoint");
        }
        return prefix;
    }

    private static boolean byteOrder(ZipFile zip, String prefix, String label) {
        if (zip.getEntry(prefix + "/byteorder") == null) {
            return false;
        }
        String order = new String(readSmall(zip, prefix + "/byteorder", label, 16), StandardCharsets.US_ASCII).strip();
        return switch (order) {
            case "little" -> false;
            case "big" -> true;
            default -> throw new CheckpointException(label + ": byteorder is '" + RestrictedUnpickler.printable(order)
                    + "', not 'little' or 'big'");
        };
    }

    /** Reads a small entry whole, refusing more than {@code limit} bytes whatever its header claims. */
    private static byte[] readSmall(ZipFile zip, String name, String label, long limit) {
        ZipEntry entry = zip.getEntry(name);
        if (entry == null) {
            throw new CheckpointException(label + ": no " + name + " in the archive");
        }
        if (entry.getSize() > limit) {
            throw new CheckpointException(label + ": " + name + " has " + entry.getSize() + " bytes, more than " + limit);
        }
        try (InputStream in = zip.getInputStream(entry)) {
            byte[] bytes = in.readNBytes((int) limit + 1);
            if (bytes.length > limit) {
                throw new CheckpointException(label + ": " + name + " has more than " + limit + " bytes");
            }
            return bytes;
        } catch (IOException e) {
            throw new CheckpointException(label + ": cannot read " + name + ": " + oneLine(e), e);
        }
    }

    /** Refuses the legacy (pre-1.6) torch.save format and other non-zip files with a clear message. */
    private static void checkMagic(Path file, String label) {
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(4);
        } catch (IOException e) {
            throw new CheckpointException(label + ": cannot read: " + SafeTensorsFile.describe(e), e);
        }
        if (head.length == 4 && head[0] == 'P' && head[1] == 'K') {
            return;
        }
        if (head.length >= 2 && (head[0] & 0xFF) == 0x80 && head[1] >= 2) {
            throw new CheckpointException(label + ": a legacy (pre-1.6) torch.save file, which is not supported;"
                    + " re-save it with torch >= 1.6 (the zip format) or convert it to safetensors");
        }
        throw new CheckpointException(label + ": not a torch.save zip archive (no zip signature)");
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + " " + e.getMessage();
        m = m.replaceAll("\\s+", " ").strip();
        return m.length() > 200 ? m.substring(0, 200) + "..." : m;
    }

    private static void closeQuietly(ZipFile zip) {
        try {
            zip.close();
        } catch (IOException ignored) {
            // read-only: nothing to lose
        }
    }
}
