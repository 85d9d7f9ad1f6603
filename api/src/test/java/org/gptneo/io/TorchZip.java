package org.gptneo.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Test helpers: a tiny pickle assembler and a writer/reader of torch-style zip archives. */
final class TorchZip {
    private TorchZip() {}

    /** A torch.save-like zip: {@code archive/data.pkl}, {@code archive/data/<key>}, {@code archive/version}. */
    static byte[] zip(byte[] pickle, Map<String, byte[]> storages) {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("archive/data.pkl", pickle);
        storages.forEach((k, v) -> entries.put("archive/data/" + k, v));
        entries.put("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        return zipEntries(entries);
    }

    static byte[] zipEntries(Map<String, byte[]> entries) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry entry = new ZipEntry(e.getKey());
                entry.setMethod(ZipEntry.STORED);
                entry.setSize(e.getValue().length);
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                entry.setCrc(crc.getValue());
                zip.putNextEntry(entry);
                zip.write(e.getValue());
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Every entry of a zip file (test fixtures are small); torch's STORED entries with data descriptors need ZipFile. */
    static Map<String, byte[]> entries(java.nio.file.Path file) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (java.util.zip.ZipFile zip = new java.util.zip.ZipFile(file.toFile())) {
            for (var it = zip.entries(); it.hasMoreElements(); ) {
                ZipEntry e = it.nextElement();
                try (var in = zip.getInputStream(e)) {
                    out.put(e.getName(), in.readAllBytes());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** Every entry of zip bytes. */
    static Map<String, byte[]> entries(byte[] zip) {
        try {
            java.nio.file.Path temp = java.nio.file.Files.createTempFile("torchzip", ".zip");
            try {
                java.nio.file.Files.write(temp, zip);
                return entries(temp);
            } finally {
                java.nio.file.Files.deleteIfExists(temp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Pickle opcodes, appended in order. */
    static final class Pickle {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Pickle raw(int... bytes) {
            for (int b : bytes) out.write(b);
            return this;
        }

        Pickle proto(int p) {
            return raw(0x80, p);
        }

        Pickle str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            raw('X');
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
            out.writeBytes(b);
            return this;
        }

        Pickle integer(int n) {
            if (n >= 0 && n < 256) return raw('K', n);
            raw('J');
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(n).array());
            return this;
        }

        Pickle global(String module, String name) {
            raw('c');
            out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        Pickle orderedDict() {
            return global("collections", "OrderedDict").raw(')', 'R');
        }

        /** _rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, size, stride, False, OrderedDict()). */
        Pickle tensor(String storageType, String key, int numel, int offset, int[] size, int[] stride) {
            global("torch._utils", "_rebuild_tensor_v2").raw('(');
            raw('(').str("storage").global("torch", storageType).str(key).str("cpu").integer(numel).raw('t', 'Q');
            integer(offset);
            raw('(');
            for (int s : size) integer(s);
            raw('t', '(');
            for (int s : stride) integer(s);
            raw('t', 0x89);
            orderedDict();
            return raw('t', 'R');
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    /** A valid one-tensor state dict {"x": F32 [2, 3]} over storage "0". */
    static byte[] benignPickle() {
        return new Pickle().proto(2).orderedDict().raw('(').str("x")
                .tensor("FloatStorage", "0", 6, 0, new int[] {2, 3}, new int[] {3, 1}).raw('u', '.').bytes();
    }

    static byte[] sixFloats() {
        ByteBuffer b = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 1; i <= 6; i++) b.putFloat(i);
        return b.array();
    }
}
