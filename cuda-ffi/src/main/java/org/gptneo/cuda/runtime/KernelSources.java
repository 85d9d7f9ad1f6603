package org.gptneo.cuda.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The CUDA C kernels of the backend: resource files under {@code org/gptneo/cuda/kernels},
 * concatenated after {@code common.cuh} into one program that NVRTC compiles for the device (or the
 * test suite's emulator compiles for the host).
 */
public final class KernelSources {
    /** The files, in the order they are concatenated; {@code common.cuh} comes first. */
    static final List<String> FILES = List.of(
            "common.cuh", "convert.cu", "gemv.cu", "elementwise.cu", "index.cu", "norm.cu", "activation.cu", "softmax.cu",
            "attention.cu", "embedding.cu", "loss.cu", "position.cu", "linear_attention.cu", "routing.cu", "optimizer.cu");

    private static final Pattern KERNEL = Pattern.compile("^KERNEL\\s+void\\s+(\\w+)\\s*\\(", Pattern.MULTILINE);

    private KernelSources() {}

    /** The whole program: every file, each introduced by a {@code #line} directive naming it. */
    public static String program() {
        StringBuilder text = new StringBuilder();
        for (String file : FILES) {
            text.append("#line 1 \"").append(file).append("\"\n").append(read(file)).append('\n');
        }
        return text.toString();
    }

    /** The names of every kernel in {@link #program()}, in order. */
    public static List<String> kernelNames(String program) {
        Matcher m = KERNEL.matcher(program);
        return m.results().map(r -> r.group(1)).toList();
    }

    private static String read(String file) {
        String path = "/org/gptneo/cuda/kernels/" + file;
        try (InputStream in = KernelSources.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("kernel source " + path + " is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read kernel source " + path, e);
        }
    }
}
