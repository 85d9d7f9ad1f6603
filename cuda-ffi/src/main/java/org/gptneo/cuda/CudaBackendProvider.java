package org.gptneo.cuda;

import java.util.Locale;
import java.util.Map;
import org.gptneo.backend.Backend;
import org.gptneo.backend.BackendProvider;
import org.gptneo.cuda.ffi.CudaProbe;
import org.gptneo.cuda.runtime.CudaDeviceRuntime;
import org.gptneo.cuda.runtime.GemmCall;
import org.gptneo.cuda.runtime.KernelSources;

/**
 * The "cuda" backend: available where the CUDA runtime loads and reports at least one device
 * ({@link CudaProbe}; never throws on a machine without CUDA). Its priority puts it before the CPU,
 * so {@link Backend#auto()} takes a usable GPU. The GEMM precision is read from the system property
 * {@code gptneo.cuda.precision} or the environment variable {@code GPTNEO_CUDA_PRECISION}:
 * {@code f32} (default), {@code tf32} or {@code bf16}.
 */
public final class CudaBackendProvider implements BackendProvider {
    /** Above the CPU backend's 0. */
    static final int PRIORITY = 10;

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public int priority() {
        return PRIORITY;
    }

    @Override
    public boolean isAvailable() {
        return CudaProbe.probe().usable();
    }

    @Override
    public String unavailableReason() {
        return CudaProbe.probe().reason();
    }

    @Override
    public int deviceCount() {
        return CudaProbe.probe().deviceCount();
    }

    @Override
    public Map<String, Object> details() {
        return CudaProbe.report();
    }

    @Override
    public Backend create(int deviceIndex) {
        CudaProbe.Result probe = CudaProbe.probe();
        if (!probe.usable()) {
            throw new IllegalStateException("the cuda backend is not available: " + probe.reason());
        }
        if (deviceIndex < 0 || deviceIndex >= probe.deviceCount()) {
            throw new IllegalArgumentException("no CUDA device " + deviceIndex + " (there are " + probe.deviceCount() + ")");
        }
        String program = KernelSources.program();
        return CudaBackend.open(deviceIndex, () -> CudaDeviceRuntime.open(deviceIndex, program), precision(
                System.getProperty("gptneo.cuda.precision", System.getenv("GPTNEO_CUDA_PRECISION"))));
    }

    /** The precision a setting names (null: F32). */
    static GemmCall.Precision precision(String setting) {
        if (setting == null || setting.isBlank()) {
            return GemmCall.Precision.F32;
        }
        return switch (setting.strip().toLowerCase(Locale.ROOT)) {
            case "f32", "fp32" -> GemmCall.Precision.F32;
            case "tf32" -> GemmCall.Precision.TF32;
            case "bf16" -> GemmCall.Precision.BF16;
            default -> throw new IllegalArgumentException("gptneo.cuda.precision takes f32, tf32 or bf16, got '" + setting + "'");
        };
    }
}
