package org.gptneo.cuda.ffi;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Where each CUDA library may be loaded from, in the order tried (pure logic over a
 * {@link SearchEnvironment}; it only looks at the file system):
 * <ol>
 *   <li>the explicit setting, property {@code gptneo.cuda.path} or else variable {@code GPTNEO_CUDA_PATH}:
 *       {@code :}-separated files (used for the library whose name they carry) or folders;</li>
 *   <li>{@code $CUDA_HOME/lib64}, {@code $CUDA_PATH/lib64}, the toolkit's default {@code lib64};</li>
 *   <li>{@code site-packages/nvidia/<wheel folder>/lib} in {@code $VIRTUAL_ENV}, {@code $CONDA_PREFIX}, the user
 *       site ({@code ~/.local/lib/python3.*}), the roots named by {@code gptneo.cuda.python} or else
 *       {@code GPTNEO_CUDA_PYTHON}, then the environment's extra roots;</li>
 *   <li>the bare soname, for the system loader.</li>
 * </ol>
 * Only existing files become path candidates, each path once. The driver is only ever the bare soname.
 */
public final class LibrarySearch {
    private static final Pattern PYTHON_LIB = Pattern.compile("python3\\.(\\d+)");

    private LibrarySearch() {}

    /** The candidates for every library, in {@link CudaLibrary} order. */
    public static Map<CudaLibrary, List<Candidate>> candidates(SearchEnvironment env) {
        Map<CudaLibrary, List<Candidate>> all = new LinkedHashMap<>();
        for (CudaLibrary library : CudaLibrary.values()) {
            all.put(library, candidates(library, env));
        }
        return all;
    }

    /** The ordered candidates for {@code library}; the last is always the bare soname. */
    public static List<Candidate> candidates(CudaLibrary library, SearchEnvironment env) {
        Map<Path, Candidate> found = new LinkedHashMap<>();
        if (!library.bareSonameOnly()) {
            explicit(library, env, found);
            toolkit(library, env, found);
            python(library, env, found);
        }
        List<Candidate> list = new ArrayList<>(found.values());
        list.add(Candidate.bare(library));
        return List.copyOf(list);
    }

    private static void explicit(CudaLibrary library, SearchEnvironment env, Map<Path, Candidate> found) {
        Optional<String> property = env.property(SearchEnvironment.PATH_PROPERTY);
        String origin = property.isPresent() ? SearchEnvironment.PATH_PROPERTY : SearchEnvironment.PATH_VARIABLE;
        for (Path entry : split(property.or(() -> env.variable(SearchEnvironment.PATH_VARIABLE)))) {
            if (Files.isDirectory(entry)) {
                addIfFile(library, entry.resolve(library.soname()), origin, found);
            } else if (entry.getFileName() != null && library.matchesFileName(entry.getFileName().toString())) {
                addIfFile(library, entry, origin, found);
            }
        }
    }

    private static void toolkit(CudaLibrary library, SearchEnvironment env, Map<Path, Candidate> found) {
        for (String variable : List.of("CUDA_HOME", "CUDA_PATH")) {
            env.variable(variable).ifPresent(home ->
                    addIfFile(library, Path.of(home, "lib64", library.soname()), variable, found));
        }
        addIfFile(library, env.defaultToolkit().resolve("lib64").resolve(library.soname()),
                env.defaultToolkit().toString(), found);
    }

    private static void python(CudaLibrary library, SearchEnvironment env, Map<Path, Candidate> found) {
        for (String variable : List.of("VIRTUAL_ENV", "CONDA_PREFIX")) {
            env.variable(variable).ifPresent(root -> wheels(library, Path.of(root), variable, found));
        }
        for (Path sitePackages : sitePackagesOf(env.userHome().resolve(".local"))) {
            wheelsIn(library, sitePackages, "user site", found);
        }
        Optional<String> property = env.property(SearchEnvironment.PYTHON_PROPERTY);
        String origin = property.isPresent() ? SearchEnvironment.PYTHON_PROPERTY : SearchEnvironment.PYTHON_VARIABLE;
        for (Path root : split(property.or(() -> env.variable(SearchEnvironment.PYTHON_VARIABLE)))) {
            wheels(library, root, origin, found);
        }
        for (Path root : env.pythonRoots()) {
            wheels(library, root, "configured Python environment", found);
        }
    }

    /** {@code root} is a site-packages folder (it has {@code nvidia/}) or an environment root. */
    private static void wheels(CudaLibrary library, Path root, String origin, Map<Path, Candidate> found) {
        if (Files.isDirectory(root.resolve("nvidia"))) {
            wheelsIn(library, root, origin, found);
        } else {
            for (Path sitePackages : sitePackagesOf(root)) {
                wheelsIn(library, sitePackages, origin, found);
            }
        }
    }

    private static void wheelsIn(CudaLibrary library, Path sitePackages, String origin, Map<Path, Candidate> found) {
        for (String folder : library.wheelFolders()) {
            addIfFile(library, sitePackages.resolve("nvidia").resolve(folder).resolve("lib").resolve(library.soname()),
                    origin, found);
        }
    }

    /** {@code <root>/lib/python3.*}{@code /site-packages}, newest Python first. */
    private static List<Path> sitePackagesOf(Path root) {
        Path lib = root.resolve("lib");
        if (!Files.isDirectory(lib)) {
            return List.of();
        }
        try (Stream<Path> children = Files.list(lib)) {
            return children.filter(p -> PYTHON_LIB.matcher(p.getFileName().toString()).matches())
                    .sorted(Comparator.comparingInt(LibrarySearch::pythonMinor).reversed())
                    .map(p -> p.resolve("site-packages"))
                    .filter(Files::isDirectory)
                    .toList();
        } catch (IOException | SecurityException e) {
            return List.of();
        }
    }

    private static int pythonMinor(Path folder) {
        Matcher m = PYTHON_LIB.matcher(folder.getFileName().toString());
        return m.matches() ? Integer.parseInt(m.group(1)) : -1;
    }

    private static List<Path> split(Optional<String> list) {
        List<Path> paths = new ArrayList<>();
        for (String part : list.orElse("").split(":")) {
            if (!part.isBlank()) {
                paths.add(Path.of(part.strip()));
            }
        }
        return paths;
    }

    private static void addIfFile(CudaLibrary library, Path file, String origin, Map<Path, Candidate> found) {
        if (Files.isRegularFile(file)) {
            Candidate candidate = Candidate.file(library, file, origin);
            found.putIfAbsent(candidate.path().orElseThrow(), candidate);
        }
    }
}
