package org.gptneo.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.io.SaveOptions;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import org.gptneo.tokenizer.TokenizerWriter;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code gptneo init}: a randomly initialised model written as a Hugging Face folder; prints the files written. */
@Command(name = "init", mixinStandardHelpOptions = true,
        description = {
            "Write a randomly initialised model as a Hugging Face model folder.",
            "",
            "The weights get Hugging Face's initialisation (normal, std initializer_range;",
            "LayerNorm weights 1, biases 0), seeded by --seed (default: the config's seed, 42",
            "unless the model file sets one). The folder holds config.json, model.safetensors",
            "(in --dtype) and GPT-2's tokenizer as vocab.json + merges.txt, so generate, logits",
            "and GPTNeoForCausalLM.from_pretrained read it. Prints the path of each file",
            "written, one per line. Refuses a folder that already holds a config.json."})
final class InitCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    ShapeSource shape;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The folder to write (created if needed).")
    Path out;

    @Option(names = "--seed", paramLabel = "S", description = "Seeds the weights (default: the config's seed).")
    Long seed;

    @Option(names = "--dtype", paramLabel = "f32|f16|bf16", defaultValue = "f32",
            description = "The stored dtype of the weights (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Override
    public Integer call() {
        SaveOptions options = SaveOptions.unsharded().withDtype(SaveDtype.parse(spec.commandLine(), dtype));
        if (Files.exists(out.resolve(HfCheckpoint.CONFIG))) {
            throw new IllegalArgumentException(out + ": already holds a model (" + HfCheckpoint.CONFIG
                    + "); choose another --out");
        }
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new IllegalArgumentException(out + ": is a file, not a folder");
        }
        GptNeoBuilder builder = shape.shape().toBuilder();
        if (seed != null) {
            builder.seed(seed);
        }
        List<Path> written = new ArrayList<>();
        try (GptNeoModel model = builder.build()) {
            written.addAll(HfCheckpoint.save(model, out, options));
        }
        written.addAll(TokenizerWriter.writeVocabAndMerges(Gpt2Tokenizer.builtIn(), out));
        PrintWriter stdout = spec.commandLine().getOut();
        written.forEach(stdout::println);
        stdout.flush();
        return 0;
    }

}
