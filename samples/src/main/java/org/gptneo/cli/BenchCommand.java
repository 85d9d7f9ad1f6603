package org.gptneo.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.foreign.Arena;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.generate.GenerationConfig;
import org.gptneo.generate.Generator;
import org.gptneo.generate.TokenListener;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.Tensor;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code gptneo bench}: the measurements {@code prefill}, {@code decode}, {@code train} and
 * {@code gemm} (one JSON line each, best of several runs; tools/bench/compare.sh runs them beside
 * PyTorch and ONNX Runtime). Without a subcommand, the original summary: a training step (forward +
 * backward), a forward pass and cached generation on random ids, medians after warm-up, as one JSON object.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        subcommands = {BenchPrefillCommand.class, BenchDecodeCommand.class, BenchTrainCommand.class, BenchGemmCommand.class,
            BenchCurveCommand.class},
        description = {
            "Time a training step, a forward pass and KV-cache generation on the default backend;",
            "or, with a subcommand, one measurement: prefill, decode, train or gemm (see their --help).",
            "",
            "Weights are random (seeded) unless --model is given. Prints one JSON object with",
            "milliseconds (medians) and tokens per second.",
            "",
            "Limits: --batch, --runs ≥ 1; --seq in [1, C] and --new-tokens in [1, C - 1] for the",
            "model's context length C (the generation prompt is the first min(T, C - N) ids)."})
final class BenchCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    ModelSource source;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "4", description = "Rows per step (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--seq", paramLabel = "T", defaultValue = "128",
            description = "Tokens per row, at most the context length (default ${DEFAULT-VALUE}).")
    int seq;

    @Option(names = "--runs", paramLabel = "R", defaultValue = "5", description = "Timed runs after 2 warm-up runs (default ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--new-tokens", paramLabel = "N", defaultValue = "32",
            description = "Tokens generated in the generation test, below the context length (default ${DEFAULT-VALUE}).")
    int newTokens;

    @Override
    public Integer call() throws Exception {
        require(source != null, "bench needs a measurement (prefill, decode, train or gemm) or a model for the summary:"
                + " one of --model, --preset, --config");
        validate(source.config().contextLength());   // before any weights are allocated
        try (GptNeoModel model = source.model(); Arena host = Arena.ofShared()) {
            int v = model.config().vocabSize();
            SplittableRandom random = new SplittableRandom(1);
            int[] ids = random.ints((long) batch * seq, 0, v).toArray();
            Tensor input = model.backend().upload(Tensor.ofInts(host, ids, batch, seq), host);   // [B, T]

            double trainMs = median(() -> {
                try (Tape tape = new Tape(model.backend(), true)) {
                    Var loss = model.loss(tape, model.forward(tape, input, false), input);
                    tape.backward(loss);
                }
            });
            model.zeroGrad();
            double forwardMs = median(() -> {
                try (Tape tape = new Tape(model.backend(), false)) {
                    model.forward(tape, input, false);
                }
            });
            Generator generator = new Generator(model, Gpt2Tokenizer.builtIn());
            int[] prompt = Arrays.copyOf(ids, Math.min(seq, model.config().contextLength() - newTokens));
            GenerationConfig greedy = GenerationConfig.greedy(newTokens).withStopAtEos(false);
            double generateMs = median(() -> generator.generate(prompt, greedy, TokenListener.NONE));

            ObjectNode json = JSON.createObjectNode();
            json.put("backend", model.backend().name());
            json.put("parameters", model.parameterCount());
            json.put("batch", batch);
            json.put("seq", seq);
            json.put("train_step_ms", round(trainMs));
            json.put("train_tokens_per_s", round(batch * seq / (trainMs / 1000)));
            json.put("forward_ms", round(forwardMs));
            json.put("forward_tokens_per_s", round(batch * seq / (forwardMs / 1000)));
            json.put("generate_prompt_tokens", prompt.length);
            json.put("generate_new_tokens", newTokens);
            json.put("generate_ms", round(generateMs));
            json.put("generate_new_tokens_per_s", round(newTokens / (generateMs / 1000)));
            PrintWriter out = spec.commandLine().getOut();
            out.println(JSON.writeValueAsString(json));
            out.flush();
        }
        return 0;
    }

    /** Each option within its range for a model of context length {@code context}: a usage error naming the option otherwise. */
    void validate(int context) {
        require(runs >= 1, "--runs must be ≥ 1, got " + runs);
        require(seq >= 1 && seq <= context, "--seq must be in [1, " + context + "] (the model's context length), got " + seq);
        require(newTokens >= 1 && newTokens < context,
                "--new-tokens must be in [1, " + (context - 1) + "] (below the model's context length " + context + "), got " + newTokens);
        int maxBatch = Integer.MAX_VALUE / seq;
        require(batch >= 1 && batch <= maxBatch, "--batch must be in [1, " + maxBatch + "] for --seq " + seq + ", got " + batch);
    }

    private void require(boolean ok, String message) {
        if (!ok) {
            throw new ParameterException(spec.commandLine(), message);
        }
    }

    private double median(Runnable run) {
        for (int i = 0; i < 2; i++) run.run();
        double[] ms = new double[runs];
        for (int i = 0; i < runs; i++) {
            long start = System.nanoTime();
            run.run();
            ms[i] = (System.nanoTime() - start) / 1e6;
        }
        Arrays.sort(ms);
        return ms[runs / 2];
    }

    private static double round(double x) {
        return Math.round(x * 10) / 10.0;
    }
}
