package org.gptneo.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.gptneo.io.HfConfig;
import org.gptneo.model.GptNeoConfig;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code gptneo info}: one JSON object on stdout, nothing else, so scripts can parse it. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = {
            "Print a model's shape and parameter count as one line of JSON.",
            "",
            "The object holds \"parameters\" (the tied LM head counted once), \"preset\"",
            "when one was named, and the config.json fields with Hugging Face's keys.",
            "Nothing else goes to stdout. Allocates no weights: for --model only",
            "config.json is read.",
            "",
            "With a bare --backend instead of a model: one JSON object describing the",
            "backends, \"selected\" (what --backend auto takes here) and, per backend,",
            "whether it is available, why not, and what it found (for CUDA: each library,",
            "where it was loaded from or why not, versions and devices)."})
final class InfoCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @ParentCommand
    Main main;

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    ModelSource source;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (main.backendReport) {
            if (source != null) {
                throw new ParameterException(spec.commandLine(), "info takes a model (--model, --preset, --config) or a bare --backend, not both");
            }
            out.println(JSON.writeValueAsString(BackendReport.json()));
            out.flush();
            return 0;
        }
        if (source == null) {
            throw new ParameterException(spec.commandLine(), "Missing model: give --model DIR, --preset NAME or --config FILE (or --backend for the backend report)");
        }
        GptNeoConfig config = source.config();
        ObjectNode json = JSON.createObjectNode();
        json.put("parameters", config.parameterCount());
        String preset = source.presetName();
        if (preset != null) {
            json.put("preset", preset);
        }
        json.setAll(HfConfig.toJson(config));
        out.println(JSON.writeValueAsString(json));
        out.flush();
        return 0;
    }
}
