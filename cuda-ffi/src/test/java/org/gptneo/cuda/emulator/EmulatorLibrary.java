package org.gptneo.cuda.emulator;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The kernel program compiled as host C++ by g++ (with emulator.h and emulator.cpp) into a shared
 * library under target/emulator/HASH, then loaded through FFM. The generated registry maps each
 * kernel's name to a function that unpacks a {@code void**} argument array into its typed
 * parameters, and reports each kernel's parameter types ('p' pointer, 'l' long long, 'i' int,
 * 'f' float) so that the runtime can check every launch's arguments.
 */
final class EmulatorLibrary {
    private static final Path ROOT = Path.of("target", "emulator");

    private final MethodHandle launch;
    private final MethodHandle signature;

    private EmulatorLibrary(SymbolLookup lookup) {
        Linker linker = Linker.nativeLinker();
        launch = linker.downcallHandle(lookup.find("emu_launch").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        signature = linker.downcallHandle(lookup.find("emu_signature").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS.withTargetLayout(MemoryLayoutHolder.STRING), ValueLayout.ADDRESS));
    }

    private static final class MemoryLayoutHolder {
        static final java.lang.foreign.MemoryLayout STRING = java.lang.foreign.MemoryLayout.sequenceLayout(256, ValueLayout.JAVA_BYTE);
    }

    /** Why the emulator cannot be built here (no g++), or null when it can. */
    static String unavailableReason() {
        try {
            Process p = new ProcessBuilder("g++", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0 ? null : "g++ --version failed";
        } catch (IOException e) {
            return "g++ is not installed (" + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** Builds (or reuses) and loads the library for {@code program}. */
    static EmulatorLibrary load(String program, List<String> kernels) {
        String registry = registry(kernels, cooperating(program, kernels));
        String header = resource("emulator.h"), scheduler = resource("emulator.cpp");
        Path dir = ROOT.resolve(hash(program + registry + header + scheduler));
        Path library = dir.resolve("libgptneo-emulator.so");
        try {
            if (!Files.exists(library)) {
                Files.createDirectories(dir);
                Files.writeString(dir.resolve("emulator.h"), header);
                Files.writeString(dir.resolve("emulator.cpp"), scheduler);
                Files.writeString(dir.resolve("kernels-" + ProcessHandle.current().pid() + ".cpp"), program + "\n" + registry);
                Path partial = dir.resolve("partial-" + ProcessHandle.current().pid() + ".so");
                Process p = new ProcessBuilder("g++", "-std=c++20", "-O1", "-g", "-fPIC", "-shared", "-ffp-contract=off",
                        "-fno-fast-math", "-Wall", "-Wno-unused-function", "-Wno-unused-variable", "-Wl,-z,noexecstack", "-include", "emulator.h",
                        "kernels-" + ProcessHandle.current().pid() + ".cpp", "emulator.cpp", "-o", partial.getFileName().toString())
                        .directory(dir.toFile()).redirectErrorStream(true).start();
                String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
                    throw new IllegalStateException("g++ could not compile the kernels for the emulator:\n"
                            + log.lines().limit(60).collect(Collectors.joining("\n")));
                }
                Files.move(partial, library, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        return new EmulatorLibrary(SymbolLookup.libraryLookup(library.toAbsolutePath(), Arena.global()));
    }

    /**
     * Runs {@code kernel}; returns 0, 1 for an impossible launch, 2 for an unknown kernel, 3 when a
     * kernel run as plain calls synchronised (it needs shared memory to cooperate: see {@link #cooperating}).
     */
    int launch(MemorySegment name, int gx, int gy, int gz, int bx, int by, int bz, int shared, MemorySegment args) {
        try {
            return (int) launch.invokeExact(name, gx, gy, gz, bx, by, bz, shared, args);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** The parameter types of {@code kernel}, or null when there is no such kernel. */
    String signature(MemorySegment name) {
        try {
            MemorySegment s = (MemorySegment) signature.invokeExact(name);
            return s.equals(MemorySegment.NULL) ? null : s.getString(0);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** A top-level function of the program: a kernel or a __device__ function, with its text. */
    private record Function(String name, String text) {}

    private static final java.util.regex.Pattern FUNCTION = java.util.regex.Pattern.compile(
            "^(?:KERNEL|__device__)[^(;]*?\\b(\\w+)\\s*\\(", java.util.regex.Pattern.MULTILINE);

    /**
     * The kernels whose threads cooperate, which therefore run as fibers: those that use shared
     * memory or __syncthreads(), directly or through the __device__ functions they call; the rest
     * run as plain calls.
     */
    static java.util.Set<String> cooperating(String program, List<String> kernels) {
        List<Function> functions = new java.util.ArrayList<>();
        java.util.regex.Matcher m = FUNCTION.matcher(program);
        List<int[]> starts = new java.util.ArrayList<>();
        List<String> names = new java.util.ArrayList<>();
        while (m.find()) {
            starts.add(new int[] {m.start()});
            names.add(m.group(1));
        }
        for (int i = 0; i < starts.size(); i++) {
            int end = i + 1 < starts.size() ? starts.get(i + 1)[0] : program.length();
            functions.add(new Function(names.get(i), program.substring(starts.get(i)[0], end)));
        }
        java.util.Set<String> syncing = new java.util.HashSet<>();
        boolean grew = true;
        while (grew) {
            grew = false;
            for (Function f : functions) {
                if (!syncing.contains(f.name()) && (f.text().contains("__shared__") || f.text().contains("DYNAMIC_SHARED")
                        || f.text().contains("__syncthreads") || syncing.stream().anyMatch(n -> calls(f.text(), n)))) {
                    syncing.add(f.name());
                    grew = true;
                }
            }
        }
        return kernels.stream().filter(syncing::contains).collect(java.util.stream.Collectors.toSet());
    }

    private static boolean calls(String text, String function) {
        return java.util.regex.Pattern.compile("\\b" + function + "\\s*\\(").matcher(text).find();
    }

    private static String registry(List<String> kernels, java.util.Set<String> cooperating) {
        StringBuilder s = new StringBuilder("""
                // Generated: the emulator's table of kernels.
                #include <type_traits>
                #include <utility>
                #include <cstring>
                template <typename T> constexpr char emu_code() {
                    if constexpr (std::is_pointer_v<T>) return 'p';
                    else if constexpr (std::is_same_v<T, long long>) return 'l';
                    else if constexpr (std::is_same_v<T, int>) return 'i';
                    else if constexpr (std::is_same_v<T, float>) return 'f';
                    else return '?';
                }
                template <typename... A, std::size_t... I>
                void emu_call(void (*f)(A...), void** a, std::index_sequence<I...>) { f(*static_cast<A*>(a[I])...); }
                template <auto F> struct EmuKernel;
                template <typename... A, void (*F)(A...)> struct EmuKernel<F> {
                    static void body(void** a) { emu_call(F, a, std::index_sequence_for<A...>{}); }
                    static constexpr char signature[] = {emu_code<A>()..., 0};
                };
                struct EmuEntry { const char* name; void (*body)(void**); const char* signature; int fibers; };
                static const EmuEntry emu_table[] = {
                """);
        for (String k : kernels) {
            s.append("    {\"").append(k).append("\", &EmuKernel<&").append(k).append(">::body, EmuKernel<&").append(k)
                    .append(">::signature, ").append(cooperating.contains(k) ? 1 : 0).append("},\n");
        }
        s.append("""
                };
                extern "C" int emu_run(void (*)(void**), void**, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, int);
                static const EmuEntry* emu_find(const char* name) {
                    for (const EmuEntry& e : emu_table) if (std::strcmp(e.name, name) == 0) return &e;
                    return nullptr;
                }
                extern "C" const char* emu_signature(const char* name) {
                    const EmuEntry* e = emu_find(name);
                    return e ? e->signature : nullptr;
                }
                extern "C" int emu_launch(const char* name, int gx, int gy, int gz, int bx, int by, int bz, int shared, void** args) {
                    const EmuEntry* e = emu_find(name);
                    if (!e) return 2;
                    return emu_run(e->body, args, gx, gy, gz, bx, by, bz, shared, e->fibers);
                }
                """);
        return s.toString();
    }

    private static String resource(String name) {
        try (InputStream in = EmulatorLibrary.class.getResourceAsStream("/org/gptneo/cuda/emulator/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String hash(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
