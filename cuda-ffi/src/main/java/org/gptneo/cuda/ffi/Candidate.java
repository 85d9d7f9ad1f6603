package org.gptneo.cuda.ffi;

import java.nio.file.Path;
import java.util.Optional;

/**
 * One place a library may be loaded from: an absolute file path, or (when {@link #path()} is empty)
 * the bare soname handed to the system loader; {@code origin} says why it is a candidate
 * ("CUDA_HOME", "user site", "system loader", ...).
 */
public record Candidate(Optional<Path> path, String soname, String origin) {

    /** The system loader's candidate: the bare soname ({@code LD_LIBRARY_PATH}, {@code ldconfig}). */
    public static Candidate bare(CudaLibrary library) {
        return new Candidate(Optional.empty(), library.soname(), "system loader");
    }

    /** A file candidate. */
    public static Candidate file(CudaLibrary library, Path path, String origin) {
        return new Candidate(Optional.of(path.toAbsolutePath().normalize()), library.soname(), origin);
    }

    /** What is handed to the loader: the path, or the bare soname. */
    public String target() {
        return path.map(Path::toString).orElse(soname);
    }

    @Override
    public String toString() {
        return target() + " (" + origin + ")";
    }
}
