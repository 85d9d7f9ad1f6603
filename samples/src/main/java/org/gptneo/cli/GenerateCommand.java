package org.gptneo.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Console;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.gptneo.backend.Backends;
import org.gptneo.generate.Generation;
import org.gptneo.generate.GenerationConfig;
import org.gptneo.generate.Generator;
import org.gptneo.generate.TokenListener;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.io.HfConfig;
import org.gptneo.io.LoadOptions;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.DType;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code gptneo generate}: continues a prompt with a Hugging Face checkpoint, streaming the text to
 * stdout as it is produced, or with --json printing one object at the end.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {
            "Continue a prompt with a Hugging Face GPT-Neo checkpoint.",
            "",
            "The folder holds config.json and the weights in any layout Hugging Face saves",
            "(model.safetensors, shards, pytorch_model.bin); safetensors weights are used",
            "zero-copy from the memory-mapped file. The tokenizer comes from the same folder",
            "(tokenizer.json, else vocab.json + merges.txt, else GPT-2's built-in one).",
            "",
            "Greedy by default (or with --greedy); sampling when any of --temperature,",
            "--top-k, --top-p is given, seeded by --seed: the same seed gives the same text.",
            "Generation stops at the model's end-of-text token, at a --stop string (which the",
            "text keeps), or after --max-new-tokens.",
            "",
            "Output: the new text only (not the prompt), as UTF-8, flushed token by token,",
            "with no newline added (one is added only when stdout is a terminal). With --json",
            "nothing is printed while generating; at the end one line",
            "{\"ids\":[...],\"text\":\"...\"} holds the new ids (a final end-of-text id included",
            "when it ended the run) and their text (without it)."})
final class GenerateCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "A Hugging Face model folder (config.json + weights, optionally tokenizer files).")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Prompt prompt;

    static final class Prompt {
        @Option(names = "--prompt", required = true, paramLabel = "TEXT",
                description = "The prompt text (the literal <|endoftext|> becomes its id).")
        String text;

        @Option(names = "--ids", required = true, paramLabel = "IDS",
                description = "The prompt as token ids, e.g. 15496,995.")
        String ids;
    }

    @Option(names = "--max-new-tokens", required = true, paramLabel = "N", description = "Generate at most N tokens.")
    int maxNewTokens;

    @Option(names = "--greedy", description = "Pick the most likely token each step (the default).")
    boolean greedy;

    @Option(names = "--temperature", paramLabel = "T", description = "Sample, dividing the logits by T > 0 (default when sampling: 1.0).")
    Float temperature;

    @Option(names = "--top-k", paramLabel = "K", description = "Sample from the K most likely tokens (default when sampling: 0 = off).")
    Integer topK;

    @Option(names = "--top-p", paramLabel = "P",
            description = "Sample from the smallest set of tokens whose probability reaches P in (0, 1] (default when sampling: 1.0 = off).")
    Float topP;

    @Option(names = "--repetition-penalty", paramLabel = "R", defaultValue = "1.0",
            description = "Penalise tokens already in the sequence (Hugging Face's meaning; 1 = off, the default), greedy or sampling.")
    float repetitionPenalty;

    @Option(names = "--stop", paramLabel = "STRING",
            description = "Stop once the text contains STRING (kept in the text). Repeatable.")
    List<String> stops = List.of();

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Seeds sampling (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--dtype", paramLabel = "f32|bf16", defaultValue = "f32",
            description = "The weight matrices' dtype in memory (default: ${DEFAULT-VALUE}); bf16 halves the memory of an F32 checkpoint.")
    String dtype;

    @Option(names = "--json", description = "Print nothing while generating, then one line of JSON: {\"ids\":[...],\"text\":\"...\"}.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        GenerationConfig config = generationConfig();
        DType weights = weightDtype();
        if (!Files.isDirectory(model)) {
            throw new IllegalArgumentException(model + ": no such model folder");
        }
        Path configFile = model.resolve(HfCheckpoint.CONFIG);
        if (!Files.isRegularFile(configFile)) {
            throw new IllegalArgumentException(model + ": no " + HfCheckpoint.CONFIG + " (not a Hugging Face model folder)");
        }
        GptNeoConfig shape = HfConfig.read(configFile);
        Gpt2Tokenizer tokenizer = Gpt2Tokenizer.fromFolder(model);
        int[] ids = promptIds(tokenizer, shape);   // checked before the weights are loaded: fails fast

        PrintWriter out = spec.commandLine().getOut();
        Stream stream = new Stream(out);
        Generation result;
        try (GptNeoModel neo = HfCheckpoint.load(model, Backends.defaultBackend(), LoadOptions.defaults().withDtype(weights))) {
            result = new Generator(neo, tokenizer).generate(ids, config, json ? TokenListener.NONE : stream);
        }
        if (json) {
            ObjectNode node = JSON.createObjectNode();
            ArrayNode array = node.putArray("ids");
            for (int id : result.ids()) {
                array.add(id);
            }
            node.put("text", result.text());
            out.println(JSON.writeValueAsString(node));
        } else {
            if (isTerminal()) {
                out.println();
            }
        }
        out.flush();
        return 0;
    }

    /** The options as a GenerationConfig; contradictory or out-of-range values are usage errors (exit 2). */
    GenerationConfig generationConfig() {
        boolean sample = temperature != null || topK != null || topP != null;
        if (greedy && sample) {
            throw new ParameterException(spec.commandLine(),
                    "--greedy cannot be combined with --temperature, --top-k or --top-p (they turn on sampling)");
        }
        if (maxNewTokens < 0) {
            throw new ParameterException(spec.commandLine(), "--max-new-tokens must be ≥ 0, got " + maxNewTokens);
        }
        try {
            GenerationConfig config = sample
                    ? GenerationConfig.sampling(maxNewTokens, temperature != null ? temperature : 1f,
                            topK != null ? topK : 0, topP != null ? topP : 1f, seed)
                    : GenerationConfig.greedy(maxNewTokens).withSeed(seed);
            return config.withRepetitionPenalty(repetitionPenalty).withStopStrings(stops);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), optionNames(e.getMessage()), e);
        }
    }

    /** GenerationConfig's messages name its fields; the user typed options. */
    private static String optionNames(String message) {
        return message.replace("temperature", "--temperature").replace("topK", "--top-k").replace("topP", "--top-p")
                .replace("repetitionPenalty", "--repetition-penalty").replace("stop strings", "--stop strings");
    }

    private DType weightDtype() {
        return switch (dtype.toLowerCase(Locale.ROOT)) {
            case "f32" -> DType.F32;
            case "bf16" -> DType.BF16;
            default -> throw new ParameterException(spec.commandLine(), "--dtype must be f32 or bf16, got '" + dtype + "'");
        };
    }

    /** The prompt's ids, each checked against the model's vocabulary, and the total against its context. */
    private int[] promptIds(Gpt2Tokenizer tokenizer, GptNeoConfig shape) {
        int[] ids = prompt.ids != null ? TokenIds.parse("--ids", prompt.ids) : tokenizer.encode(prompt.text);
        if (ids.length == 0) {
            throw new IllegalArgumentException((prompt.ids != null ? "--ids" : "--prompt")
                    + " is empty: a prompt needs at least one token (e.g. --ids " + shape.eosTokenId() + ", the end-of-text id)");
        }
        int vocab = shape.vocabSize();
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw new IllegalArgumentException((prompt.ids != null ? "--ids" : "--prompt") + ": token id " + ids[i]
                        + " (position " + (i + 1) + ") is outside the model's vocabulary [0, " + vocab + ")");
            }
        }
        if ((long) ids.length + maxNewTokens > shape.contextLength()) {
            throw new IllegalArgumentException("the prompt is too long for the context: " + ids.length + " prompt token" + (ids.length == 1 ? "" : "s")
                    + " + " + maxNewTokens + " new tokens exceed the model's context length " + shape.contextLength());
        }
        return ids;
    }

    private static boolean isTerminal() {
        Console console = System.console();
        return console != null && console.isTerminal();
    }

    /** Prints each token's text as it arrives (the generator's streamed text equals its final text). */
    static final class Stream implements TokenListener {
        private final PrintWriter out;

        Stream(PrintWriter out) {
            this.out = out;
        }

        @Override
        public void onToken(int id, String text) {
            out.print(text);
            out.flush();
        }
    }
}
