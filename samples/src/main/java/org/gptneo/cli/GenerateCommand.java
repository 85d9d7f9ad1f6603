package org.gptneo.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Console;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.gptneo.generate.Generation;
import org.gptneo.generate.GenerationConfig;
import org.gptneo.generate.Generator;
import org.gptneo.generate.TokenListener;
import org.gptneo.io.LoadOptions;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.io.AdapterCheckpoint;
import org.gptneo.lora.LoraAdapter;
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
 * {@code gptneo generate}: continues a prompt, streaming the text to stdout as it is produced, or
 * with --json printing one object at the end; several --ids rows generate as one left-padded batch.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {
            "Continue a prompt with a Hugging Face GPT-Neo checkpoint or a random model.",
            "",
            "--model DIR holds config.json and the weights in any layout Hugging Face saves",
            "(model.safetensors, shards, pytorch_model.bin); safetensors weights are used",
            "zero-copy from the memory-mapped file. The tokenizer comes from the same folder",
            "(tokenizer.json, else vocab.json + merges.txt, else GPT-2's built-in one).",
            "--preset and --config build a randomly initialised model (seeded by the config's",
            "seed) that uses GPT-2's built-in tokenizer.",
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
            "when it ended the run) and their text (without it).",
            "",
            "Several rows of --ids (\"1,2,3;4,5\") generate as one left-padded batch, row i",
            "sampling with seed S + i; then --json prints one object per row, one per line, and",
            "without --json each row's text is printed after the run, followed by a newline."})
final class GenerateCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    ModelSource source;

    @Option(names = "--adapter", paramLabel = "DIR", description = "A LoRA adapter folder (PEFT layout) to apply, unmerged.")
    Path adapter;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Prompt prompt;

    static final class Prompt {
        @Option(names = "--prompt", required = true, paramLabel = "TEXT",
                description = "The prompt text (the literal <|endoftext|> becomes its id).")
        String text;

        @Option(names = "--ids", required = true, paramLabel = "IDS",
                description = "The prompt as token ids, e.g. 15496,995; rows separated by ';' (e.g. \"1,2,3;4,5\") generate as a batch.")
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

    @Option(names = "--dtype", paramLabel = LoadDtype.LABEL, defaultValue = "f32", description = LoadDtype.DESCRIPTION)
    String dtype;

    @Option(names = "--json", description = "Print nothing while generating, then one line of JSON per row: {\"ids\":[...],\"text\":\"...\"}.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        GenerationConfig config = generationConfig();
        DType weights = weightDtype();
        if (weights != DType.F32 && source.isRandom()) {
            throw new ParameterException(spec.commandLine(), "--dtype " + dtype + " needs --model: random weights"
                    + " (--preset, --config) are F32");
        }
        GptNeoConfig shape = source.config();
        Gpt2Tokenizer tokenizer = source.tokenizer();
        int[][] rows = promptRows(tokenizer, shape);   // checked before the weights are loaded: fails fast

        PrintWriter out = spec.commandLine().getOut();
        List<Generation> results;
        try (GptNeoModel neo = source.model(LoadOptions.defaults().withDtype(weights));
             LoraAdapter lora = adapter == null ? null : AdapterCheckpoint.load(neo, adapter)) {
            Generator generator = new Generator(neo, tokenizer);
            results = rows.length == 1
                    ? List.of(generator.generate(rows[0], config, json ? TokenListener.NONE : new Stream(out)))
                    : generator.generateBatch(List.of(rows), config);
        }
        if (json) {
            for (Generation result : results) {
                out.println(jsonLine(result));
            }
        } else if (rows.length > 1) {
            results.forEach(result -> out.println(result.text()));
        } else if (isTerminal()) {
            out.println();
        }
        out.flush();
        return 0;
    }

    private static String jsonLine(Generation result) throws Exception {
        ObjectNode node = JSON.createObjectNode();
        ArrayNode array = node.putArray("ids");
        for (int id : result.ids()) {
            array.add(id);
        }
        node.put("text", result.text());
        return JSON.writeValueAsString(node);
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
        DType named = LoadDtype.named(dtype);
        if (named == null) {
            throw new ParameterException(spec.commandLine(), LoadDtype.error(dtype));
        }
        return named;
    }

    /** The prompt rows, each id checked against the model's vocabulary, and the longest row against its context. */
    private int[][] promptRows(Gpt2Tokenizer tokenizer, GptNeoConfig shape) {
        String option = prompt.ids != null ? "--ids" : "--prompt";
        int vocab = shape.vocabSize();
        int[][] rows;
        if (prompt.ids != null) {
            rows = TokenIds.rows("--ids", prompt.ids);
        } else {
            rows = new int[][] {tokenizer.encode(prompt.text)};
            if (rows[0].length == 0) {
                int example = shape.eosTokenId() < vocab ? shape.eosTokenId() : 0;
                throw new IllegalArgumentException("--prompt is empty: a prompt needs at least one token (e.g. --ids "
                        + example + (example == shape.eosTokenId() ? ", the end-of-text id)" : ")"));
            }
        }
        int longest = 0;
        for (int r = 0; r < rows.length; r++) {
            for (int i = 0; i < rows[r].length; i++) {
                if (rows[r][i] < 0 || rows[r][i] >= vocab) {
                    throw new IllegalArgumentException(option + ": token id " + rows[r][i] + " (" + TokenIds.where(rows, r, i)
                            + ") is outside the model's vocabulary [0, " + vocab + ")");
                }
            }
            longest = Math.max(longest, rows[r].length);
        }
        if ((long) longest + maxNewTokens > shape.contextLength()) {
            throw new IllegalArgumentException("the prompt is too long for the context: " + longest + " prompt token"
                    + (longest == 1 ? "" : "s") + " + " + maxNewTokens + " new tokens exceed the model's context length "
                    + shape.contextLength());
        }
        return rows;
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
