package org.gptneo.backend.cpu;

import org.gptneo.backend.Backend;
import org.gptneo.backend.BackendProvider;

/** Registers {@link CpuBackend}: always available, lowest priority, one shared instance. */
public final class CpuBackendProvider implements BackendProvider {
    private static final CpuBackend SHARED = new CpuBackend();

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
        return true;
    }

    @Override
    public Backend create() {
        return SHARED;
    }
}
