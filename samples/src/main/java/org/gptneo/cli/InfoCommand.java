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
import picocli.CommandLine.Spec;

/** {@code gptneo info}: one JSON object on stdout, nothing else, so scripts can parse it. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = {
            "Print a model's shape and parameter count as one line of JSON.",
            "",
            "The object holds \"parameters\" (the tied LM head counted once), \"preset\"",
            "when one was named, and the config.json fields with Hugging Face's keys.",
            "Nothing else goes to stdout. Allocates no weights: for --model only",
            "config.json is read."})
final class InfoCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    ModelSource source;

    @Override
    public Integer call() throws Exception {
        GptNeoConfig config = source.config();
        ObjectNode json = JSON.createObjectNode();
        json.put("parameters", config.parameterCount());
        String preset = source.presetName();
        if (preset != null) {
            json.put("preset", preset);
        }
        json.setAll(HfConfig.toJson(config));
        PrintWriter out = spec.commandLine().getOut();
        out.println(JSON.writeValueAsString(json));
        out.flush();
        return 0;
    }
}
