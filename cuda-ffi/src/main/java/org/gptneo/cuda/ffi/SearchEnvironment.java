package org.gptneo.cuda.ffi;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;

/**
 * What library discovery looks at, gathered once so that {@link LibrarySearch} is pure logic:
 * environment variables, system properties, the user's home folder, Python environment roots
 * configured by the caller, and the toolkit's default install folder ({@code /usr/local/cuda}).
 */
public record SearchEnvironment(Map<String, String> environment, Map<String, String> properties,
                                Path userHome, List<Path> pythonRoots, Path defaultToolkit) {

    /** The system property naming library files or folders ({@code :}-separated). */
    public static final String PATH_PROPERTY = "gptneo.cuda.path";
    /** The environment variable naming library files or folders, used when the property is unset. */
    public static final String PATH_VARIABLE = "GPTNEO_CUDA_PATH";
    /** The system property naming Python environment roots or site-packages folders ({@code :}-separated). */
    public static final String PYTHON_PROPERTY = "gptneo.cuda.python";
    /** The environment variable naming Python environments, used when the property is unset. */
    public static final String PYTHON_VARIABLE = "GPTNEO_CUDA_PYTHON";

    public SearchEnvironment {
        environment = Map.copyOf(environment);
        properties = Map.copyOf(properties);
        pythonRoots = List.copyOf(pythonRoots);
    }

    /** This process's environment, system properties and home folder; no extra Python roots. */
    public static SearchEnvironment current() {
        Properties system = System.getProperties();
        Map<String, String> properties = new TreeMap<>();
        for (String name : system.stringPropertyNames()) {
            properties.put(name, system.getProperty(name));
        }
        return new SearchEnvironment(System.getenv(), properties, Path.of(System.getProperty("user.home", "/")),
                List.of(), Path.of("/usr/local/cuda"));
    }

    /** This environment with the system property {@code name} set to {@code value}. */
    public SearchEnvironment withProperty(String name, String value) {
        Map<String, String> changed = new TreeMap<>(properties);
        changed.put(name, value);
        return new SearchEnvironment(environment, changed, userHome, pythonRoots, defaultToolkit);
    }

    /** A non-blank environment variable. */
    public Optional<String> variable(String name) {
        return nonBlank(environment.get(name));
    }

    /** A non-blank system property. */
    public Optional<String> property(String name) {
        return nonBlank(properties.get(name));
    }

    private static Optional<String> nonBlank(String value) {
        return value == null || value.isBlank() ? Optional.empty() : Optional.of(value.strip());
    }
}
