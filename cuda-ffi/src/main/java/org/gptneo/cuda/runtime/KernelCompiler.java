package org.gptneo.cuda.runtime;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.gptneo.cuda.ffi.CudaException;
import org.gptneo.cuda.ffi.Nvrtc;

/**
 * Compiles CUDA C to a CUBIN for one GPU architecture with NVRTC (no GPU needed), with the options
 * {@code --gpu-architecture=sm_XY --fmad=false -std=c++17} (no fused multiply-add, so results match
 * the host's rounding). Kernels must be {@code extern "C"} to be found by name. Results are cached
 * per instance by (source hash, architecture, NVRTC version). Thread-safe.
 */
public final class KernelCompiler {
    /** Lines of the compiler log a failure message carries. */
    static final int LOG_LINES = 40;

    private record Key(String sourceHash, int smMajor, int smMinor, String nvrtcVersion) {}

    private final String nvrtcVersion;
    private final Map<Key, byte[]> cache = new ConcurrentHashMap<>();

    /** A compiler over the loaded NVRTC; throws {@code CudaUnavailableException} when there is none. */
    public KernelCompiler() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment major = arena.allocate(JAVA_INT);
            MemorySegment minor = arena.allocate(JAVA_INT);
            Nvrtc.check(Nvrtc.version(major, minor), "nvrtcVersion");
            nvrtcVersion = major.get(JAVA_INT, 0) + "." + minor.get(JAVA_INT, 0);
        }
    }

    /** NVRTC's version ("13.0"). */
    public String nvrtcVersion() {
        return nvrtcVersion;
    }

    /** The NVRTC options for an architecture. */
    static List<String> options(int smMajor, int smMinor) {
        return List.of("--gpu-architecture=sm_" + smMajor + smMinor, "--fmad=false", "-std=c++17");
    }

    /**
     * The CUBIN (an ELF image for {@code cuModuleLoadData}) of {@code source} for compute capability
     * {@code smMajor.smMinor}; a compile error throws {@link CudaException} carrying the first
     * {@value #LOG_LINES} lines of the compiler log.
     */
    public byte[] compile(String source, String programName, int smMajor, int smMinor) {
        if (smMajor < 1 || smMinor < 0 || smMinor > 9) {
            throw new IllegalArgumentException("no such architecture: sm_" + smMajor + smMinor);
        }
        Key key = new Key(sha256(source), smMajor, smMinor, nvrtcVersion);
        return cache.computeIfAbsent(key, k -> compileUncached(source, programName, smMajor, smMinor)).clone();
    }

    private static byte[] compileUncached(String source, String programName, int smMajor, int smMinor) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment programSlot = arena.allocate(ADDRESS);
            Nvrtc.check(Nvrtc.createProgram(programSlot, arena.allocateFrom(source), arena.allocateFrom(programName),
                    0, MemorySegment.NULL, MemorySegment.NULL), "nvrtcCreateProgram");
            MemorySegment program = programSlot.get(ADDRESS, 0);
            try {
                List<String> options = options(smMajor, smMinor);
                MemorySegment optionArray = arena.allocate(ADDRESS, options.size());
                for (int i = 0; i < options.size(); i++) {
                    optionArray.setAtIndex(ADDRESS, i, arena.allocateFrom(options.get(i)));
                }
                int rc = Nvrtc.compileProgram(program, options.size(), optionArray);
                if (rc != Nvrtc.SUCCESS) {
                    throw new CudaException("nvrtcCompileProgram failed for " + programName + " (sm_" + smMajor + smMinor
                            + "): " + Nvrtc.describe(rc) + "\n" + firstLines(log(program, arena), LOG_LINES), rc);
                }
                MemorySegment size = arena.allocate(JAVA_LONG);
                Nvrtc.check(Nvrtc.getCubinSize(program, size), "nvrtcGetCUBINSize");
                MemorySegment cubin = arena.allocate(size.get(JAVA_LONG, 0));
                Nvrtc.check(Nvrtc.getCubin(program, cubin), "nvrtcGetCUBIN");
                return cubin.toArray(JAVA_BYTE);
            } finally {
                Nvrtc.destroyProgram(programSlot);
            }
        }
    }

    private static String log(MemorySegment program, Arena arena) {
        MemorySegment size = arena.allocate(JAVA_LONG);
        if (Nvrtc.getProgramLogSize(program, size) != Nvrtc.SUCCESS || size.get(JAVA_LONG, 0) <= 1) {
            return "(no compiler log)";
        }
        MemorySegment log = arena.allocate(size.get(JAVA_LONG, 0));
        return Nvrtc.getProgramLog(program, log) == Nvrtc.SUCCESS ? log.getString(0) : "(compiler log unreadable)";
    }

    static String firstLines(String text, int lines) {
        String[] all = text.strip().split("\n", -1);
        if (all.length <= lines) {
            return String.join("\n", all);
        }
        return String.join("\n", List.of(all).subList(0, lines)) + "\n... (" + (all.length - lines) + " more lines)";
    }

    private static String sha256(String source) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(source.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JDK", e);
        }
    }
}
