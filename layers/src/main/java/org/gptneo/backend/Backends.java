package org.gptneo.backend;

import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/**
 * Finds backends at run time. The system property {@code gptneo.backend} picks one by name
 * ({@code auto}, or unset, lets the priorities choose: CUDA before the CPU). Every call makes a new
 * backend (on device 0), which the caller owns and closes.
 */
public final class Backends {
    /** The name that lets the priorities choose. */
    public static final String AUTO = "auto";

    private Backends() {}

    /** Every registered provider, available or not. */
    public static List<BackendProvider> providers() {
        return ServiceLoader.load(BackendProvider.class, Backends.class.getClassLoader()).stream()
                .map(ServiceLoader.Provider::get)
                .sorted(Comparator.comparingInt(BackendProvider::priority).reversed())
                .toList();
    }

    /** The backend named by {@code gptneo.backend}, else the available one with the highest priority. */
    public static Backend defaultBackend() {
        String wanted = System.getProperty("gptneo.backend");
        if (wanted != null && !wanted.isBlank() && !wanted.equalsIgnoreCase(AUTO)) {
            return byName(wanted);
        }
        List<BackendProvider> all = providers();
        return all.stream()
                .filter(BackendProvider::isAvailable)
                .findFirst()
                .orElseThrow(() -> new IllegalStateException("no backend is available: " + all.stream()
                        .map(p -> p.name() + ": " + p.unavailableReason()).collect(Collectors.joining("; "))))
                .create();
    }

    /** The backend with this name; a clear error when it is unknown or cannot run here. */
    public static Backend byName(String name) {
        List<BackendProvider> all = providers();
        BackendProvider provider = all.stream()
                .filter(p -> p.name().equalsIgnoreCase(name))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown backend '" + name + "' (known: "
                        + all.stream().map(BackendProvider::name).collect(Collectors.joining(", ")) + ")"));
        if (!provider.isAvailable()) {
            throw new IllegalStateException("backend '" + name + "' is not available: " + provider.unavailableReason());
        }
        return provider.create();
    }
}
