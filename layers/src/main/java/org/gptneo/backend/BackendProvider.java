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

    /** How many devices of this kind there are here (the CPU: 1). */
    default int deviceCount() {
        return isAvailable() ? 1 : 0;
    }

    /**
     * What the provider found on this machine, for reports ({@code gptneo info --backend}): names
     * to strings, numbers, booleans, lists or maps of them. Must not throw.
     */
    default java.util.Map<String, Object> details() {
        return java.util.Map.of();
    }

    /** A new backend on device {@code deviceIndex}; the caller owns it and closes it. */
    Backend create(int deviceIndex);

    /** A new backend on device 0. */
    default Backend create() {
        return create(0);
    }
}
