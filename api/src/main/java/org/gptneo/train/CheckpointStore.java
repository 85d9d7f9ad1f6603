package org.gptneo.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The checkpoints of one output folder, named {@code checkpoint-STEP} as Hugging Face's Trainer
 * names them. A checkpoint is written into a hidden {@code .checkpoint-STEP.partial} folder, every
 * file is forced to disk, and only then is the folder renamed (one atomic rename) to its real
 * name: a folder called {@code checkpoint-STEP} is therefore always complete, whatever killed the
 * process and when. Partial folders left by a crash are removed the next time a run starts.
 */
final class CheckpointStore {
    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d+)");
    private static final String PARTIAL_PREFIX = ".checkpoint-";
    private static final String PARTIAL_SUFFIX = ".partial";

    /** Writes a checkpoint's files into a folder (that exists and is empty). */
    @FunctionalInterface
    interface Contents {
        void writeInto(Path dir) throws IOException;
    }

    private final Path root;
    private final int keep;

    /** @param keep how many of the newest checkpoints to keep (0 = all) */
    CheckpointStore(Path root, int keep) {
        this.root = root;
        this.keep = keep;
    }

    Path root() {
        return root;
    }

    /** The complete checkpoints, oldest first. */
    List<Path> complete() {
        if (!Files.isDirectory(root)) return List.of();
        try (Stream<Path> children = Files.list(root)) {
            return children.filter(p -> step(p) >= 0 && Files.isDirectory(p))
                    .sorted(Comparator.comparingLong(CheckpointStore::step)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list checkpoints in " + root + ": " + e.getMessage(), e);
        }
    }

    Optional<Path> newest() {
        List<Path> all = complete();
        return all.isEmpty() ? Optional.empty() : Optional.of(all.getLast());
    }

    /** The step of a checkpoint folder's name, or −1 when the name is not {@code checkpoint-N}. */
    static long step(Path dir) {
        Matcher m = NAME.matcher(dir.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    /** Deletes the partial folders an interrupted write left behind. */
    void removePartial() {
        if (!Files.isDirectory(root)) return;
        try (Stream<Path> children = Files.list(root)) {
            for (Path p : children.toList()) {
                String name = p.getFileName().toString();
                if (name.startsWith(PARTIAL_PREFIX) && name.endsWith(PARTIAL_SUFFIX)) deleteTree(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot clean partial checkpoints in " + root + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes checkpoint {@code step} and then drops the oldest beyond {@code keep}; a checkpoint of
     * the same step already there is replaced only once the new one is complete.
     */
    Path write(int step, Contents contents) {
        Path target = root.resolve("checkpoint-" + step);
        Path partial = root.resolve(PARTIAL_PREFIX + step + PARTIAL_SUFFIX);
        try {
            Files.createDirectories(root);
            if (Files.exists(partial)) deleteTree(partial);
            Files.createDirectory(partial);
            contents.writeInto(partial);
            forceTree(partial);
            if (Files.exists(target)) {
                Path old = root.resolve(PARTIAL_PREFIX + step + ".old" + PARTIAL_SUFFIX);
                Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
                Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
                deleteTree(old);
            } else {
                Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
            }
            force(root);
        } catch (FileAlreadyExistsException e) {
            throw new UncheckedIOException("cannot write checkpoint " + target + ": " + e.getFile() + " is in the way", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + target + ": " + e.getMessage(), e);
        }
        prune();
        return target;
    }

    private void prune() {
        if (keep <= 0) return;
        List<Path> all = complete();
        for (int i = 0; i < all.size() - keep; i++) {
            try {
                deleteTree(all.get(i));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot remove old checkpoint " + all.get(i) + ": " + e.getMessage(), e);
            }
        }
    }

    private static void forceTree(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.toList()) force(p);
        }
    }

    /** fsync of a file or a folder (so that a rename or a new entry reaches the disk too). */
    private static void force(Path p) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
