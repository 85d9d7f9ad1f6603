package org.gptneo.backend.cpu;

import org.gptneo.backend.Backend;
import org.gptneo.backend.BackendProvider;

/**
 * Registers {@link CpuBackend}: available wherever the Vector API is, lowest priority. Each backend
 * it makes uses all cores, or as many threads as the system property {@code gptneo.cpu.threads} says.
 */
public final class CpuBackendProvider implements BackendProvider {
    /** System property: threads per CPU backend (default: the available processors). */
    public static final String THREADS_PROPERTY = "gptneo.cpu.threads";

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int priority() {
        return 0;
    }

    @Override
    public boolean isAvailable() {
        return VectorApi.isPresent();
    }

    @Override
    public String unavailableReason() {
        return isAvailable() ? "" : VectorApi.reason();
    }

    /** The host is device 0, the only one: a backend on all cores. */
    @Override
    public Backend create(int deviceIndex) {
        if (deviceIndex != 0) {
            throw new IllegalArgumentException("the CPU backend has one device, 0; got " + deviceIndex);
        }
        return new CpuBackend(threads());
    }

    private static int threads() {
        String value = System.getProperty(THREADS_PROPERTY);
        if (value == null || value.isBlank()) {
            return Runtime.getRuntime().availableProcessors();
        }
        try {
            int threads = Integer.parseInt(value.strip());
            if (threads >= 1) return threads;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("-D" + THREADS_PROPERTY + " must be a whole number ≥ 1, got '" + value + "'");
    }
}
