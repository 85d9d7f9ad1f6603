package org.gptneo.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.gptneo.data.DatasetOptions;
import org.gptneo.data.Datasets;
import org.gptneo.data.TokenSource;
import org.gptneo.io.AdapterCheckpoint;
import org.gptneo.io.LoadOptions;
import org.gptneo.lora.LoraAdapter;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.DType;
import org.gptneo.train.Perplexity;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code gptneo perplexity}: sliding-window perplexity of a model on a dataset, as one JSON line. */
@Command(name = "perplexity", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Sliding-window perplexity, as Hugging Face's perplexity guide computes it.",
            "",
            "Windows of --seq-len tokens start every --stride tokens; each scores only the",
            "tokens the previous window did not. --data is read as train's --data is (text",
            "files get an end-of-text token after each document). Prints one JSON object:",
            "perplexity, mean_nll, tokens, windows, seq_len, stride, dtype."})
final class PerplexityCommand implements Callable<Integer> {
    @ArgGroup(exclusive = true, multiplicity = "1")
    ModelSource source;

    @Option(names = "--adapter", paramLabel = "DIR", description = "A LoRA adapter folder (PEFT layout) to apply, unmerged.")
    Path adapter;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "The text or token data to score.")
    Path data;

    @Option(names = "--seq-len", paramLabel = "T", description = "Window length (default: the model's context length).")
    int seqLen;

    @Option(names = "--stride", paramLabel = "S", description = "Window step (default: half the window).")
    int stride;

    @Option(names = "--text-field", defaultValue = "text", paramLabel = "NAME", description = "The JSONL field holding the text (default: ${DEFAULT-VALUE}).")
    String textField;

    @Option(names = "--dtype", paramLabel = LoadDtype.LABEL, defaultValue = "f32", description = LoadDtype.DESCRIPTION)
    String dtype;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        DType weights = LoadDtype.named(dtype);
        if (weights == null) {
            throw new ParameterException(spec.commandLine(), LoadDtype.error(dtype));
        }
        int context = source.config().contextLength();
        if (seqLen > context) {
            throw new IllegalArgumentException("--seq-len " + seqLen + " exceeds the model's context length " + context);
        }
        int window = seqLen > 0 ? seqLen : context;
        if (stride > window) {
            throw new IllegalArgumentException("--stride " + stride + " exceeds the window of " + window + " tokens (--seq-len)");
        }
        DatasetOptions options = DatasetOptions.defaults().withTokenizer(source.tokenizer()).withTextField(textField);
        try (TokenSource tokens = Datasets.open(data, options);
             GptNeoModel model = source.model(LoadOptions.defaults().withDtype(weights));
             LoraAdapter lora = adapter == null ? null : AdapterCheckpoint.load(model, adapter)) {
            Perplexity.Result r = Perplexity.slidingWindow(model, tokens, window, stride > 0 ? stride : Math.max(1, window / 2));
            ObjectNode row = new ObjectMapper().createObjectNode();
            row.put("perplexity", r.perplexity());
            row.put("mean_nll", r.meanNll());
            row.put("tokens", r.tokens());
            row.put("windows", r.windows());
            row.put("seq_len", r.maxLength());
            row.put("stride", r.stride());
            row.put("dtype", weights.name().toLowerCase(Locale.ROOT));
            spec.commandLine().getOut().println(row);
            spec.commandLine().getOut().flush();
        }
        return 0;
    }
}
