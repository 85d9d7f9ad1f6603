package org.gptneo.parallel.nccl;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.gptneo.cuda.ffi.CudaProbe;

/**
 * Whether this process can use NCCL: {@code libnccl.so.2} loads and answers {@code ncclGetVersion},
 * and a GPU is usable ({@link CudaProbe}). Creates no CUDA context and never throws.
 *
 * @param available   whether NCCL communicators can be made here
 * @param version     NCCL's version ("2.30.7"), or "" when it is not loaded
 * @param description where NCCL was loaded from and what the GPU probe found, or why not
 */
public record NcclProbe(boolean available, String version, String description) {

    /** Probes NCCL and the GPU. */
    public static NcclProbe probe() {
        try {
            if (!Nccl.library().loaded()) {
                return new NcclProbe(false, "", Nccl.library().whyMissing());
            }
            String version;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment code = arena.allocate(JAVA_INT);
                int rc = Nccl.getVersion(code);
                if (rc != Nccl.SUCCESS) {
                    return new NcclProbe(false, "", "ncclGetVersion: " + Nccl.describe(rc));
                }
                version = Nccl.versionText(code.get(JAVA_INT, 0));
            }
            String found = "NCCL " + version + ": " + Nccl.library().describe();
            CudaProbe.Result gpu = CudaProbe.probe();
            return new NcclProbe(gpu.usable(), version, found + "; " + (gpu.usable() ? "" : "no usable GPU: ") + gpu.reason());
        } catch (RuntimeException | LinkageError e) {
            return new NcclProbe(false, "", "NCCL probe failed: " + e);
        }
    }
}
