package org.gptneo.backend.cpu;

import org.gptneo.backend.Backend;
import org.gptneo.backend.BackendProvider;

/** Registers {@link CpuBackend}: available wherever the Vector API is, lowest priority. */
public final class CpuBackendProvider implements BackendProvider {

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
        return new CpuBackend();
    }
}
