package org.gptneo.io;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.gptneo.tensor.Tensor;

/**
 * The stored tensors of a checkpoint, whatever its layout: one or several safetensors files
 * (memory-mapped, so views are possible) or torch zip files (copied in chunks). Names are as stored.
 */
abstract sealed class WeightSource implements AutoCloseable permits WeightSource.OpenFiles {
    /** The file a message about the whole checkpoint names (the weights file or the index). */
    abstract String label();

    /** Every stored name, in file order. */
    abstract List<String> names();

    /** The label of the file that holds {@code name}. */
    abstract String fileOf(String name);

    /** The stored dtype as a safetensors name (F32, F16, BF16, F64, U8, BOOL, ...). */
    abstract String dtypeName(String name);

    abstract long[] shape(String name);

    /** Whether tensors may be viewed and copied from several threads at once (memory-mapped files). */
    abstract boolean readsConcurrently();

    /** A zero-copy view, or null when this layout cannot give one. */
    abstract Tensor view(String name);

    /** Copies a floating-point tensor into {@code target}, converting to its dtype (Q8 where {@link #quantizesWhileCopying()}). */
    abstract void copyInto(String name, Tensor target);

    /** Whether {@link #copyInto} takes a Q8 target (else quantize an F32 copy). */
    abstract boolean quantizesWhileCopying();

    /** True when both floating-point tensors hold the same values. */
    abstract boolean sameValues(String a, String b);

    @Override
    public abstract void close();

    // ---- discovery -------------------------------------------------------------------------------

    static final String ST_INDEX = "model.safetensors.index.json";
    static final String BIN = "pytorch_model.bin";
    static final String BIN_INDEX = "pytorch_model.bin.index.json";

    /**
     * Opens the weights of a model folder, in Hugging Face's order of preference:
     * model.safetensors, model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json.
     */
    static WeightSource openFolder(Path dir) {
        Path single = dir.resolve(HfCheckpoint.WEIGHTS);
        if (Files.isRegularFile(single)) {
            return openFile(single);
        }
        if (Files.isRegularFile(dir.resolve(ST_INDEX))) {
            return openSharded(ShardIndex.read(dir.resolve(ST_INDEX)), SafeTensorsFile::open, Safe::new);
        }
        if (Files.isRegularFile(dir.resolve(BIN))) {
            return openFile(dir.resolve(BIN));
        }
        if (Files.isRegularFile(dir.resolve(BIN_INDEX))) {
            return openSharded(ShardIndex.read(dir.resolve(BIN_INDEX)), TorchCheckpointFile::open, Torch::new);
        }
        throw new CheckpointException(dir + ": no weights (" + HfCheckpoint.WEIGHTS + ", " + ST_INDEX + ", " + BIN
                + " or " + BIN_INDEX + ")");
    }

    /** Opens one weights file: safetensors unless its name ends in .bin/.pt/.pth or it starts like a zip. */
    static WeightSource openFile(Path file) {
        String name = SafeTensorsFile.label(file);
        if (name.endsWith(".bin") || name.endsWith(".pt") || name.endsWith(".pth")) {
            TorchCheckpointFile f = TorchCheckpointFile.open(file);
            return new Torch(name, List.of(f), Map.of(name, f), null);
        }
        SafeTensorsFile f = SafeTensorsFile.open(file);
        return new Safe(name, List.of(f), Map.of(name, f), null);
    }

    @FunctionalInterface
    private interface Factory<F, S> {
        S create(String label, List<F> files, Map<String, F> byLabel, ShardIndex index);
    }

    /** Opens every shard an index names and checks that each holds exactly the tensors mapped to it. */
    private static <F extends AutoCloseable, S extends WeightSource> S openSharded(
            ShardIndex index, Function<Path, F> opener, Factory<F, S> factory) {
        Path dir = index.file().toAbsolutePath().getParent();
        List<F> files = new ArrayList<>();
        Map<String, F> byLabel = new LinkedHashMap<>();
        try {
            for (String name : index.files()) {
                F f = opener.apply(dir.resolve(name));
                files.add(f);
                byLabel.put(name, f);
            }
            S source = factory.create(index.label(), files, byLabel, index);
            for (String name : index.files()) {
                Set<String> mapped = index.tensorsIn(name);
                Set<String> held = ((WeightSource) source).namesIn(name);
                for (String tensor : mapped) {
                    if (!held.contains(tensor)) {
                        throw new CheckpointException(index.label() + ": tensor '" + RestrictedUnpickler.printable(tensor)
                                + "' is mapped to " + name + ", which does not hold it");
                    }
                }
                for (String tensor : held) {
                    if (!mapped.contains(tensor)) {
                        throw new CheckpointException(name + ": holds tensor '" + RestrictedUnpickler.printable(tensor)
                                + "', which " + index.label() + " "
                                + (index.weightMap().containsKey(tensor) ? "maps to " + index.weightMap().get(tensor)
                                        : "does not list"));
                    }
                }
            }
            return source;
        } catch (RuntimeException | Error e) {
            for (F f : files) {
                try {
                    f.close();
                } catch (Exception ignored) {
                    // already failing
                }
            }
            throw e;
        }
    }

    /** The names stored in one file (by label). */
    abstract Set<String> namesIn(String fileLabel);

    // ---- shared bookkeeping of one or several files ------------------------------------------------

    /** Which file holds each tensor; F is one open file of the layout. */
    abstract static sealed class OpenFiles<F extends AutoCloseable> extends WeightSource permits Safe, Torch {
        private final String label;
        private final List<F> files;
        private final Map<String, F> byLabel;
        private final Map<String, F> byTensor = new LinkedHashMap<>();
        private final Map<String, String> labelOf = new LinkedHashMap<>();

        OpenFiles(String label, List<F> files, Map<String, F> byLabel, ShardIndex index) {
            this.label = label;
            this.files = files;
            this.byLabel = byLabel;
            byLabel.forEach((fileLabel, f) -> {
                for (String n : namesOf(f)) {
                    if (index == null || fileLabel.equals(index.weightMap().get(n))) {
                        byTensor.put(n, f);
                        labelOf.put(n, fileLabel);
                    }
                }
            });
        }

        abstract Set<String> namesOf(F file);

        @Override
        String label() {
            return label;
        }

        @Override
        List<String> names() {
            return List.copyOf(byTensor.keySet());
        }

        @Override
        Set<String> namesIn(String fileLabel) {
            return namesOf(byLabel.get(fileLabel));
        }

        @Override
        String fileOf(String name) {
            return labelOf.getOrDefault(name, label);
        }

        /** The file that holds {@code name}. */
        F file(String name) {
            F f = byTensor.get(name);
            if (f == null) throw new CheckpointException(label + ": no tensor named '" + name + "'");
            return f;
        }

        @Override
        public void close() {
            for (F f : files) {
                try {
                    f.close();
                } catch (Exception e) {
                    throw new CheckpointException(label + ": cannot close: " + e.getMessage(), e);
                }
            }
        }
    }

    // ---- safetensors: memory-mapped, so views are possible -----------------------------------------

    static final class Safe extends OpenFiles<SafeTensorsFile> {
        Safe(String label, List<SafeTensorsFile> files, Map<String, SafeTensorsFile> byLabel, ShardIndex index) {
            super(label, files, byLabel, index);
        }

        @Override
        boolean readsConcurrently() {
            return true;   // views of files mapped in a shared arena
        }

        @Override
        Set<String> namesOf(SafeTensorsFile file) {
            return file.names();
        }

        @Override
        String dtypeName(String name) {
            return file(name).dtypeName(name);
        }

        @Override
        long[] shape(String name) {
            return file(name).shape(name);
        }

        @Override
        Tensor view(String name) {
            return file(name).tensor(name);
        }

        /** Reads the file in chunks rather than through the mapping (see {@link SafeTensorsFile#readInto}). */
        @Override
        void copyInto(String name, Tensor target) {
            file(name).readInto(name, target);
        }

        @Override
        boolean quantizesWhileCopying() {
            return true;
        }

        @Override
        boolean sameValues(String a, String b) {
            Tensor ta = view(a), tb = view(b);
            if (ta.size() != tb.size()) return false;
            if (ta.dtype() == tb.dtype()) {
                return MemorySegment.mismatch(ta.data(), 0, ta.data().byteSize(), tb.data(), 0, tb.data().byteSize()) == -1;
            }
            for (long i = 0, n = ta.size(); i < n; i++) {
                if (Float.floatToIntBits(ta.getFloat(i)) != Float.floatToIntBits(tb.getFloat(i))) return false;
            }
            return true;
        }
    }

    // ---- torch zip: tensors are copied out of the archive in chunks --------------------------------

    static final class Torch extends OpenFiles<TorchCheckpointFile> {
        Torch(String label, List<TorchCheckpointFile> files, Map<String, TorchCheckpointFile> byLabel, ShardIndex index) {
            super(label, files, byLabel, index);
        }

        @Override
        boolean readsConcurrently() {
            return false;  // entries of a zip archive, read as streams
        }

        @Override
        Set<String> namesOf(TorchCheckpointFile file) {
            return file.names();
        }

        @Override
        String dtypeName(String name) {
            return file(name).dtypeName(name);
        }

        @Override
        long[] shape(String name) {
            return file(name).shape(name);
        }

        @Override
        Tensor view(String name) {
            return null;
        }

        @Override
        void copyInto(String name, Tensor target) {
            file(name).copyInto(name, target);
        }

        @Override
        boolean quantizesWhileCopying() {
            return false;
        }

        @Override
        boolean sameValues(String a, String b) {
            return file(a).sameValues(a, file(b), b);
        }
    }
}
