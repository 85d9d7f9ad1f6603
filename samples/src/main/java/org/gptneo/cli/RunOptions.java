package org.gptneo.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.gptneo.io.ConfigFile;
import org.gptneo.io.ModelConfigFile;
import org.gptneo.parallel.ParallelLayout;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/** What the train command does with its merged run files: the model they name, the batch they imply, and --print-config. */
final class RunOptions {
    private static final YAMLMapper YAML = YAMLMapper.builder().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES).build();

    private RunOptions() {}

    /** Refuses run-file settings this command has no option for (they would otherwise do nothing, silently). */
    static void requireKnown(RunConfig run, CommandSpec spec) {
        for (String option : run.options().keySet()) {
            if (spec.findOption(option) == null) {
                throw new IllegalArgumentException("a run file sets " + option + ", which gptneo " + spec.name() + " does not have");
            }
        }
    }

    /** The model the run files name (a source option or inline keys); an error when neither they nor a flag name one. */
    static ModelSource modelSource(RunConfig run) {
        ModelSource source = new ModelSource();
        Map<String, String> o = run.options();
        if (o.containsKey("--model")) source.model = Path.of(o.get("--model"));
        else if (o.containsKey("--preset")) source.preset = o.get("--preset");
        else if (o.containsKey("--config")) source.config = Path.of(o.get("--config"));
        else if (run.model() != null) source.inline = ConfigFile.fromTree(run.model(), "the run files' model section");
        else throw new IllegalArgumentException("no model: give --model, --preset or --config, or a model section in a --run file");
        return source;
    }

    /**
     * The global batch: --batch-size, or with --micro-batch-size M the M × dp sequences that
     * GPT-NeoX's per-GPU micro-batch means (M × dp·ep with expert parallelism, whose ranks each
     * compute their own rows); both set and disagreeing is an error.
     */
    static int batchSize(CommandSpec spec, int batchSize, Integer microBatchSize, ParallelLayout layout) {
        if (microBatchSize == null) return batchSize;
        int rowRanks = layout.dp() * layout.ep();
        int implied = Math.multiplyExact(microBatchSize, rowRanks);
        boolean explicit = spec.commandLine().getParseResult().hasMatchedOption("--batch-size")
                || spec.defaultValueProvider() instanceof RunDefaults d && d.config().options().containsKey("--batch-size");
        if (explicit && batchSize != implied) {
            throw new IllegalArgumentException("--batch-size " + batchSize + " disagrees with --micro-batch-size " + microBatchSize
                    + (layout.ep() > 1 ? " × dp·ep " : " × dp ") + rowRanks + " = " + implied);
        }
        return implied;
    }

    /** The settings in effect, as a run file in this library's format (what --print-config prints), with the global batch. */
    static String print(CommandSpec spec, ModelSource source, int batch) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        ObjectNode model = root.putObject("model");
        if (source.model != null) model.put("path", source.model.toString());
        else if (source.preset != null) model.put("preset", source.preset);
        else if (source.config != null) model.put("config", source.config.toString());
        else root.set("model", ModelConfigFile.toTree(source.inline));
        for (Map.Entry<String, Map<String, String>> section : RunKeys.SECTIONS.entrySet()) {
            if (section.getKey().equals("model")) continue;
            ObjectNode node = JsonNodeFactory.instance.objectNode();
            if (section.getKey().equals("parallel")) parallel(spec, node);
            for (Map.Entry<String, String> key : section.getValue().entrySet()) {
                OptionSpec option = spec.findOption(key.getValue());
                Object value = option == null ? null : option.getValue();
                if (value != null) node.set(key.getKey(), YAML.valueToTree(value instanceof Path p ? p.toString() : value));
            }
            if (section.getKey().equals("training")) node.put("batch-size", batch);
            if (!node.isEmpty()) root.set(section.getKey(), node);
        }
        try {
            return YAML.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the settings as YAML", e);
        }
    }

    /** --parallel's "dp=2,tp=1" as the parallel section's keys. */
    private static void parallel(CommandSpec spec, ObjectNode node) {
        OptionSpec option = spec.findOption("--parallel");
        if (option == null || option.getValue() == null) return;
        for (String part : List.of(Objects.toString(option.getValue()).split(","))) {
            String[] kv = part.split("=", 2);
            if (kv.length != 2) continue;
            try {
                node.put(kv[0].trim(), Integer.parseInt(kv[1].trim()));
            } catch (NumberFormatException e) {
                node.put(kv[0].trim(), kv[1].trim());       // the layout's own check names it when training starts
            }
        }
    }
}
