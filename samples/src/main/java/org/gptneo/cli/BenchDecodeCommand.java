package org.gptneo.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Workspace;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.MachineLimits;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.KvCache;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code gptneo bench decode}: greedy decoding with a KV cache, B rows of a P-token random prompt,
 * N new tokens each. Only the N one-token steps are timed (the prompt's pass is reported apart as
 * prefill_ms); each step feeds the previous step's argmax. Decode is bound by memory reads, so the
 * line also gives the bytes one step reads ({@link DecodeTraffic}) and the fraction of the machine's
 * read bandwidth, measured in the same run, that the achieved rate amounts to.
 */
@Command(name = "decode", mixinStandardHelpOptions = true,
        description = {"Time greedy KV-cache decoding of --new tokens after a --prompt-token random prompt.",
            "Prints one JSON line with tokens/s and the fraction of the memory bandwidth used."})
final class BenchDecodeCommand implements Callable<Integer> {
    @Mixin
    BenchRuns runs;

    @Mixin
    BenchModel model;

    @Option(names = "--prompt", paramLabel = "P", defaultValue = "16", description = "Prompt tokens per row (default ${DEFAULT-VALUE}).")
    int prompt;

    @Option(names = "--new", paramLabel = "N", defaultValue = "64", description = "New tokens per row (default ${DEFAULT-VALUE}).")
    int newTokens;

    @Option(names = "--batch-size", paramLabel = "B", defaultValue = "1", description = "Rows decoded together (default ${DEFAULT-VALUE}).")
    int batch;

    @Override
    public Integer call() {
        runs.validate();
        GptNeoConfig config = model.config();
        DType dtype = model.dtype(runs);
        int context = config.contextLength();
        runs.require(prompt >= 1 && prompt < context, "--prompt must be in [1, " + (context - 1) + "], got " + prompt);
        runs.require(newTokens >= 1 && newTokens <= context - prompt,
                "--new must be in [1, " + (context - prompt) + "] (prompt + new ≤ the context length " + context + "), got " + newTokens);
        runs.require(batch >= 1 && batch <= 4096, "--batch-size must be in [1, 4096], got " + batch);
        double bandwidthBefore = MachineLimits.readBandwidthGbs(runs.threads(), 2);
        try (Backend backend = runs.backend(); GptNeoModel m = model.load(backend, dtype)) {
            int[] ids = new SplittableRandom(1).ints((long) batch * prompt, 0, config.vocabSize()).toArray();
            Timing best = null;
            long heapBefore = 0;
            for (int run = 0; run <= runs.runs; run++) {      // run 0 warms up
                if (run == 1) heapBefore = BenchRuns.heapAllocatedBytes();
                Timing t = decode(backend, m, ids);
                if (run > 0 && (best == null || t.stepsMs < best.stepsMs)) best = t;
            }
            double heapPerRun = (double) (BenchRuns.heapAllocatedBytes() - heapBefore) / runs.runs;
            // this machine's bandwidth moves from minute to minute: the higher of the two, so the fraction is not flattered
            double bandwidth = Math.max(bandwidthBefore, MachineLimits.readBandwidthGbs(runs.threads(), 2));
            DecodeTraffic traffic = DecodeTraffic.of(m);
            double stepBytes = traffic.meanStepBytes(batch, prompt + 1, newTokens);
            double stepsPerS = newTokens / (best.stepsMs / 1000);
            ObjectNode json = runs.line("decode");
            json.put("batch", batch);
            json.put("prompt", prompt);
            json.put("new", newTokens);
            json.put("dtype", dtype.name().toLowerCase(Locale.ROOT));
            json.put("prefill_ms", BenchRuns.round(best.prefillMs, 2));
            json.put("ms_per_token", BenchRuns.round(best.stepsMs / newTokens, 3));
            json.put("tokens_per_s", BenchRuns.round(batch * stepsPerS, 1));
            json.put("bytes_per_token", Math.round(stepBytes / batch));
            json.put("bandwidth_gb_s", BenchRuns.round(bandwidth, 2));
            json.put("bandwidth_fraction", BenchRuns.round(stepBytes * stepsPerS / 1e9 / bandwidth, 3));
            BenchRuns.putHeapPerToken(json, heapPerRun, (long) batch * newTokens);     // the prompt's pass included
            runs.print(json);
        }
        return 0;
    }

    private record Timing(double prefillMs, double stepsMs) {}

    /** One prompt pass and N greedy steps on a fresh cache. */
    private Timing decode(Backend backend, GptNeoModel m, int[] promptIds) {
        int v = m.config().vocabSize();
        try (Arena host = Arena.ofShared(); KvCache cache = new KvCache(m, batch, new int[batch], prompt + newTokens); Workspace workspace = new Workspace()) {
            long start = System.nanoTime();
            int[] next;
            try (Tape tape = new Tape(backend, false)) {
                Tensor ids = backend.upload(Tensor.ofInts(host, promptIds, batch, prompt), host);
                Tensor positions = backend.upload(Tensor.ofInts(host, BenchPrefillCommand.positions(batch, prompt), batch, prompt), host);
                next = argmax(backend.download(m.forwardCached(tape, ids, positions, cache), host), v);
            }
            long prefillEnd = System.nanoTime();
            int[] position = new int[batch];
            for (int step = 0; step < newTokens; step++) {
                Arrays.fill(position, prompt + step);
                try (Arena stepArena = Arena.ofConfined(); Tape tape = new Tape(backend, workspace)) {
                    Tensor ids = backend.upload(Tensor.ofInts(stepArena, next, batch, 1), stepArena);   // [B, 1]
                    Tensor at = backend.upload(Tensor.ofInts(stepArena, position, batch, 1), stepArena);
                    next = argmax(backend.download(m.forwardCached(tape, ids, at, cache), stepArena), v);
                }
            }
            long end = System.nanoTime();
            return new Timing((prefillEnd - start) / 1e6, (end - prefillEnd) / 1e6);
        }
    }

    /**
     * Each row's most likely next id from logits [B, V], read straight from their memory when dense F32
     * (through {@code getFloat}, 50257 indexed reads took about 8% of a Q8 decoding step, and the pause left
     * the pool's helper thread to fall asleep before the next token's first product).
     */
    private static int[] argmax(Tensor logits, int v) {
        boolean direct = logits.dtype() == DType.F32 && logits.isContiguous();
        MemorySegment data = logits.data();
        int rows = logits.dim(0);
        int[] best = new int[rows];
        for (int r = 0; r < rows; r++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < v; j++) {
                long at = (long) r * v + j;
                float x = direct ? data.getAtIndex(ValueLayout.JAVA_FLOAT, at) : logits.getFloat(at);
                if (x > max) {
                    max = x;
                    best[r] = j;
                }
            }
        }
        return best;
    }
}
