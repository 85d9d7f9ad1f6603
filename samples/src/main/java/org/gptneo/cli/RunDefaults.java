package org.gptneo.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;

/**
 * Supplies train options that the command line leaves out from its {@code --run} files. picocli asks
 * after it has matched the command line, so the files are known by then and every flag given wins
 * over them. Options of the model group (--model, --preset, --config) are left to the command, which
 * decides the model as a whole. A run file that cannot be read or says something this command cannot
 * do is a usage error, like a bad flag.
 */
final class RunDefaults implements IDefaultValueProvider {
    private final Supplier<List<Path>> files;
    private RunConfig merged;

    RunDefaults(Supplier<List<Path>> files) {
        this.files = files;
    }

    /** The merged run files (none: {@link RunConfig#NONE}); read once. */
    RunConfig config() {
        if (merged == null) {
            List<Path> paths = files.get();
            merged = paths == null || paths.isEmpty() ? RunConfig.NONE : RunConfig.merge(paths);
        }
        return merged;
    }

    @Override
    public String defaultValue(ArgSpec arg) {
        if (!(arg instanceof OptionSpec option) || option.group() != null) return null;
        try {
            return config().options().get(option.longestName());
        } catch (IllegalArgumentException e) {
            throw new ParameterException(option.command().commandLine(), e.getMessage(), e);
        }
    }
}
