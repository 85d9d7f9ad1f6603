package org.gptneo.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.foreign.Arena;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Workspace;
import org.gptneo.backend.Backend;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.KvCache;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code gptneo bench prefill}: a no-grad forward pass over B×T random ids, timed twice: with the LM
 * head on every position ({@code "logits":"all"}, what scoring needs) and on each row's last position
 * only ({@code "logits":"last"}, what generation's prompt pass needs: it also fills a KV cache).
 */
@Command(name = "prefill", mixinStandardHelpOptions = true,
        description = {"Time a forward pass over --batch-size × --tokens random ids.",
            "Prints two JSON lines: logits for all positions, and for the last one only."})
final class BenchPrefillCommand implements Callable<Integer> {
    @Mixin
    BenchRuns runs;

    @Mixin
    BenchModel model;

    @Option(names = "--tokens", paramLabel = "T", defaultValue = "512",
            description = "Tokens per row, at most the context length (default ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--batch-size", paramLabel = "B", defaultValue = "1", description = "Rows (default ${DEFAULT-VALUE}).")
    int batch;

    @Override
    public Integer call() {
        runs.validate();
        GptNeoConfig config = model.config();
        DType dtype = model.dtype(runs);
        runs.require(tokens >= 1 && tokens <= config.contextLength(),
                "--tokens must be in [1, " + config.contextLength() + "] (the model's context length), got " + tokens);
        runs.require(batch >= 1 && batch <= Integer.MAX_VALUE / tokens,
                "--batch-size must be in [1, " + Integer.MAX_VALUE / tokens + "] for --tokens " + tokens + ", got " + batch);
        try (Backend backend = runs.backend(); GptNeoModel m = model.load(backend, dtype); Arena host = Arena.ofShared();
             Workspace passes = new Workspace()) {
            int[] ids = new SplittableRandom(1).ints((long) batch * tokens, 0, config.vocabSize()).toArray();
            Tensor input = backend.upload(Tensor.ofInts(host, ids, batch, tokens), host);   // [B, T]
            Tensor positions = backend.upload(Tensor.ofInts(host, positions(batch, tokens), batch, tokens), host);
            BenchRuns.Best all = runs.best(() -> {
                try (Tape tape = BenchRuns.tape(backend, false, passes)) {   // as generation does
                    m.forward(tape, input, false);                                     // [B, T, V]
                }
            });
            BenchRuns.Best last = runs.best(() -> {
                try (Tape tape = BenchRuns.tape(backend, false, passes); KvCache cache = new KvCache(m, batch, new int[batch], tokens)) {
                    m.forwardCached(tape, input, positions, cache);                    // [B, V]
                }
            });
            print("all", all, dtype);
            print("last", last, dtype);
        }
        return 0;
    }

    private void print(String logits, BenchRuns.Best best, DType dtype) {
        double ms = best.ms();
        ObjectNode json = runs.line("prefill");
        json.put("logits", logits);
        json.put("batch", batch);
        json.put("tokens", tokens);
        json.put("dtype", dtype.name().toLowerCase(Locale.ROOT));
        json.put("ms", BenchRuns.round(ms, 2));
        json.put("tokens_per_s", BenchRuns.round(batch * tokens / (ms / 1000), 1));
        BenchRuns.putHeapPerToken(json, best.heapBytesPerRun(), (long) batch * tokens);
        runs.print(json);
    }

    /** 0, 1, …, T − 1 in each of B rows. */
    static int[] positions(int batch, int tokens) {
        int[] p = new int[batch * tokens];
        for (int i = 0; i < p.length; i++) p[i] = i % tokens;
        return p;
    }
}
