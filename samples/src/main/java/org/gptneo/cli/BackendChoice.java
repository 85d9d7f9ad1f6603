package org.gptneo.cli;

import java.util.List;
import org.gptneo.backend.Backends;

/**
 * The {@code --backend NAME} option every command inherits: it sets the system property
 * {@code gptneo.backend}, which {@link Backends#defaultBackend()} reads, for this process. A bare
 * {@code --backend} (no name) asks {@code gptneo info} for its backend report.
 */
final class BackendChoice {
    /** The value of a bare {@code --backend}. */
    static final String REPORT = "report";
    static final List<String> NAMES = List.of(Backends.AUTO, "cpu", "cuda");

    private BackendChoice() {}

    /** Applies {@code name}; false when it is not a backend name (nor the bare flag). */
    static boolean apply(String name) {
        if (REPORT.equals(name)) {
            return true;
        }
        if (!NAMES.contains(name)) {
            return false;
        }
        System.setProperty("gptneo.backend", name);
        return true;
    }
}
