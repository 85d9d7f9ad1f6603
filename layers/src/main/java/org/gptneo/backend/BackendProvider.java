package org.gptneo.backend;

/**
 * How a backend makes itself known: listed in {@code module-info} ({@code provides
 * org.gptneo.backend.BackendProvider with ...}) or META-INF/services, found by {@link Backends}.
 */
public interface BackendProvider {

    /** The name users select it by ("cpu", "cuda", ...). */
    String name();

    /** Higher wins when no backend is named; the CPU backend has 0. */
    int priority();

    /** Whether it can run here (a GPU backend checks for its driver); must not throw. */
    boolean isAvailable();

    /** A short reason when {@link #isAvailable()} is false. */
    default String unavailableReason() {
        return "";
    }

    Backend create();
}
