package org.gptneo.io;

import java.nio.file.Path;
import java.security.SecureRandom;

/**
 * Names for the temporary files that atomic writes go through: hidden siblings of the target (same
 * folder, so the final rename is atomic), created with the usual permissions by the writer.
 */
final class TemporaryFiles {
    private static final SecureRandom RANDOM = new SecureRandom();

    private TemporaryFiles() {}

    /** {@code .<name>.<random>.tmp} next to {@code target}. */
    static Path siblingOf(Path target) {
        Path absolute = target.toAbsolutePath();
        return absolute.resolveSibling("." + absolute.getFileName() + "." + Long.toUnsignedString(RANDOM.nextLong(), 36) + ".tmp");
    }
}
