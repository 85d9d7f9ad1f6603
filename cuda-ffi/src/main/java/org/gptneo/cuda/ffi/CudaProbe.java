package org.gptneo.cuda.ffi;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Whether this process can compute on a GPU: a cheap check that never throws, for the backend
 * provider, and a JSON-friendly report (plain maps and lists of strings, numbers and booleans) for
 * {@code gptneo info --backend}. Creates no CUDA context.
 */
public final class CudaProbe {
    private static final List<CudaLibrary> REQUIRED = List.of(CudaLibrary.DRIVER, CudaLibrary.NVRTC, CudaLibrary.CUBLAS);

    /**
     * The outcome: {@code usable} when the runtime sees at least one device and the driver, NVRTC and
     * cuBLAS are loaded; {@code reason} says what was found and why it is (not) usable, e.g.
     * "libcudart.so.13 loaded from /x/y (user site); cudaGetDeviceCount: CUDA driver version is
     * insufficient for CUDA runtime version (cudaErrorInsufficientDriver, 35)".
     */
    public record Result(boolean usable, int deviceCount, String reason) {}

    private CudaProbe() {}

    /** Probes the libraries and the device count; never throws. */
    public static Result probe() {
        try {
            return check();
        } catch (RuntimeException | LinkageError e) {
            return new Result(false, 0, "CUDA probe failed: " + e);
        }
    }

    private static Result check() {
        LoadedLibrary runtime = CudaLibraries.get().library(CudaLibrary.RUNTIME);
        if (!runtime.loaded()) {
            return new Result(false, 0, runtime.whyMissing());
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_INT);
            int rc = Cudart.getDeviceCount(count);
            if (rc != Cudart.SUCCESS) {
                return new Result(false, 0, runtime.describe() + "; cudaGetDeviceCount: " + Cudart.describe(rc));
            }
            int devices = count.get(JAVA_INT, 0);
            if (devices == 0) {
                return new Result(false, 0, runtime.describe() + "; cudaGetDeviceCount: no CUDA device");
            }
            List<String> missing = new ArrayList<>();
            for (CudaLibrary library : REQUIRED) {
                LoadedLibrary outcome = CudaLibraries.get().library(library);
                if (!outcome.loaded()) {
                    missing.add(outcome.whyMissing());
                }
            }
            String found = runtime.describe() + "; " + devices + " CUDA device" + (devices == 1 ? "" : "s");
            return missing.isEmpty() ? new Result(true, devices, found)
                    : new Result(false, devices, found + ", but " + String.join("; ", missing));
        }
    }

    /**
     * The full picture: the probe's result, each library's outcome (found, path, origin, version,
     * error), the runtime, driver and NVRTC versions, and each device's name, compute capability and
     * memory. Never throws; a part that cannot be read carries an "error" entry instead.
     */
    public static Map<String, Object> report() {
        Map<String, Object> report = new LinkedHashMap<>();
        Result result = probe();
        report.put("usable", result.usable());
        report.put("deviceCount", result.deviceCount());
        report.put("reason", result.reason());
        try {
            report.put("libraries", libraries());
            report.put("versions", versions());
            List<Object> devices = new ArrayList<>();
            for (int i = 0; i < result.deviceCount(); i++) {
                devices.add(device(i));
            }
            report.put("devices", Collections.unmodifiableList(devices));
        } catch (RuntimeException | LinkageError e) {
            report.put("error", e.toString());
        }
        return Collections.unmodifiableMap(report);
    }

    private static Map<String, Object> libraries() {
        Map<String, Object> libraries = new LinkedHashMap<>();
        for (CudaLibrary library : CudaLibrary.values()) {
            LoadedLibrary outcome = CudaLibraries.get().library(library);
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("found", outcome.loaded());
            outcome.loadedFrom().ifPresent(c -> {
                entry.put("path", c.target());
                entry.put("origin", c.origin());
            });
            outcome.version().ifPresent(v -> entry.put("version", v));
            if (!outcome.loaded()) {
                entry.put("error", outcome.whyMissing());
            }
            libraries.put(library.soname(), Collections.unmodifiableMap(entry));
        }
        return Collections.unmodifiableMap(libraries);
    }

    private static Map<String, Object> versions() {
        Map<String, Object> versions = new LinkedHashMap<>();
        if (CudaLibraries.get().library(CudaLibrary.RUNTIME).loaded()) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment value = arena.allocate(JAVA_INT);
                versions.put("runtime", Cudart.runtimeGetVersion(value) == Cudart.SUCCESS
                        ? cudaVersion(value.get(JAVA_INT, 0)) : "unknown");
                versions.put("driver", Cudart.driverGetVersion(value) == Cudart.SUCCESS
                        ? cudaVersion(value.get(JAVA_INT, 0)) : "unknown");
            }
        }
        if (CudaLibraries.get().library(CudaLibrary.NVRTC).loaded()) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment major = arena.allocate(JAVA_INT);
                MemorySegment minor = arena.allocate(JAVA_INT);
                versions.put("nvrtc", Nvrtc.version(major, minor) == Nvrtc.SUCCESS
                        ? major.get(JAVA_INT, 0) + "." + minor.get(JAVA_INT, 0) : "unknown");
            }
        }
        return Collections.unmodifiableMap(versions);
    }

    /** A CUDA version number as text: 13000 is "13.0", 12080 is "12.8", 0 (no driver) is "none". */
    static String cudaVersion(int version) {
        return version == 0 ? "none" : version / 1000 + "." + version % 1000 / 10;
    }

    private static Map<String, Object> device(int ordinal) {
        Map<String, Object> device = new LinkedHashMap<>();
        device.put("index", ordinal);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_INT);
            Cudart.check(Cudart.deviceGetAttribute(value, Cudart.ATTR_COMPUTE_CAPABILITY_MAJOR, ordinal), "cudaDeviceGetAttribute");
            int major = value.get(JAVA_INT, 0);
            Cudart.check(Cudart.deviceGetAttribute(value, Cudart.ATTR_COMPUTE_CAPABILITY_MINOR, ordinal), "cudaDeviceGetAttribute");
            device.put("sm", "sm_" + major + value.get(JAVA_INT, 0));
            Cudart.check(Cudart.deviceGetAttribute(value, Cudart.ATTR_MULTIPROCESSOR_COUNT, ordinal), "cudaDeviceGetAttribute");
            device.put("multiprocessors", value.get(JAVA_INT, 0));
            int handle = CuDriver.device(ordinal);
            device.put("name", CuDriver.deviceName(handle));
            device.put("memoryBytes", CuDriver.totalMemory(handle));
        } catch (CudaException e) {
            device.put("error", e.getMessage());
        }
        return Collections.unmodifiableMap(device);
    }
}
