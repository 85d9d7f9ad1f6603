package org.gptneo.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import org.gptneo.generate.Filler;
import org.gptneo.io.LoadOptions;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.DType;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code gptneo fill}: a masked-LM model fills in the [MASK]s of a text. */
@Command(name = "fill", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Fill in each [MASK] of a text with a masked-LM model (objective masked_lm).",
            "",
            "One bidirectional pass over the text; each [MASK] (which takes the space before",
            "it, standing for a whole word) becomes the model's most likely token there.",
            "Prints the filled text and a newline; with --json one line",
            "{\"text\":\"...\",\"masks\":[[{\"token\":\"...\",\"id\":N,\"probability\":P},...],...]}",
            "with the --top-k most likely tokens of each mask, in the text's order."})
final class FillCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    ModelSource source;

    @Option(names = "--text", required = true, paramLabel = "TEXT", description = "The text, with one or more [MASK].")
    String text;

    @Option(names = "--json", description = "Print one line of JSON: the filled text and each mask's candidates.")
    boolean json;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "5",
            description = "Candidates per mask in the --json output (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--dtype", paramLabel = LoadDtype.LABEL, defaultValue = "f32", description = LoadDtype.DESCRIPTION)
    String dtype;

    @Override
    public Integer call() throws Exception {
        DType weights = LoadDtype.named(dtype);
        if (weights == null) {
            throw new ParameterException(spec.commandLine(), LoadDtype.error(dtype));
        }
        if (topK < 1) {
            throw new ParameterException(spec.commandLine(), "--top-k must be at least 1, got " + topK);
        }
        if (!json && spec.commandLine().getParseResult().hasMatchedOption("--top-k")) {
            throw new ParameterException(spec.commandLine(), "--top-k needs --json (the plain output is the filled text only)");
        }
        Filler.requireMaskedLm(source.config());                      // before any weights are read
        PrintWriter out = spec.commandLine().getOut();
        try (GptNeoModel model = source.model(LoadOptions.defaults().withDtype(weights))) {
            Filler filler = new Filler(model, source.tokenizer());
            if (!json) {
                out.println(filler.fill(text));
            } else {
                Filler.Filled filled = filler.fill(text, topK);
                ObjectNode node = JSON.createObjectNode();
                node.put("text", filled.text());
                ArrayNode masks = node.putArray("masks");
                for (List<Filler.Candidate> mask : filled.candidates()) {
                    ArrayNode list = masks.addArray();
                    for (Filler.Candidate c : mask) {
                        list.addObject().put("token", c.text()).put("id", c.id()).put("probability", c.probability());
                    }
                }
                out.println(JSON.writeValueAsString(node));
            }
        }
        out.flush();
        return 0;
    }
}
