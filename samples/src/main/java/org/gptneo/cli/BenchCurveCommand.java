package org.gptneo.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Workspace;
import org.gptneo.backend.Backend;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.KvCache;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.lines.SeriesLines;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code gptneo bench curve}: how cost grows with length. Prefill time and peak activation memory
 * (the tape's peak bytes) against T for the model's own layer pattern and, for random weights, the
 * same model with every layer global, every layer local and every layer linear; then decode time per token against the
 * cache length. One JSON line per point; with --plot, two PNG charts. Each layout's passes take their
 * memory from one {@link Workspace}, as {@code bench prefill} and generation do: with a fresh tape per pass,
 * mapping and faulting in the activations (2 GB at T = 2048) cost as much as the pass itself.
 */
@Command(name = "curve", mixinStandardHelpOptions = true,
        description = {"Prefill time and memory against --tokens for global, local and linear layers, and decode",
            "time per token against the cache length. One JSON line per point; --plot DIR draws them."})
final class BenchCurveCommand implements Callable<Integer> {
    /** Steps timed at each cache length. */
    private static final int DECODE_STEPS = 8;
    /** Untimed passes at the first length before a layout's points (and runs of decoding steps before the decode points). */
    private static final int WARM_UP_PASSES = 5;

    @Mixin
    BenchRuns runs;

    @Mixin
    BenchModel model;

    @Option(names = "--tokens", paramLabel = "T,T,...", split = ",", defaultValue = "128,256,512,1024,2048",
            description = "Lengths measured, each at most the context length (default ${DEFAULT-VALUE}).")
    int[] lengths;

    @Option(names = "--plot", paramLabel = "DIR",
            description = "Also write DIR/prefill-cost.png and DIR/decode-cost.png.")
    Path plot;

    @Override
    public Integer call() throws IOException {
        runs.validate();
        GptNeoConfig config = model.config();
        DType dtype = model.dtype(runs);
        for (int t : lengths) {
            runs.require(t >= 2 && t <= config.contextLength(),
                    "--tokens must be in [2, " + config.contextLength() + "] (the model's context length), got " + t);
        }
        Map<String, double[]> prefillMs = new LinkedHashMap<>(), prefillMiB = new LinkedHashMap<>();
        double[] decodeMs = new double[lengths.length];
        try (Backend backend = runs.backend(); Arena host = Arena.ofShared()) {
            for (Map.Entry<String, GptNeoConfig> layout : layouts(config).entrySet()) {
                double[] ms = new double[lengths.length], mib = new double[lengths.length];
                try (GptNeoModel m = layout.getValue() == config ? model.load(backend, dtype) : layout.getValue().toBuilder().build(backend);
                     Workspace passes = new Workspace()) {
                    Tensor warmUp = randomIds(backend, host, m, lengths[0]);
                    for (int i = 0; i < WARM_UP_PASSES; i++) {      // the JIT compiles the kernels before the first point
                        try (Tape tape = BenchRuns.tape(backend, false, passes)) {
                            m.forward(tape, warmUp, false);
                        }
                    }
                    for (int i = 0; i < lengths.length; i++) {
                        long[] peak = new long[1];
                        Tensor input = randomIds(backend, host, m, lengths[i]);
                        ms[i] = runs.best(() -> {
                            try (Tape tape = BenchRuns.tape(backend, false, passes)) {   // as bench prefill and generation
                                m.forward(tape, input, false);
                                peak[0] = tape.peakBytes();
                            }
                        }).ms();
                        mib[i] = peak[0] / (1024.0 * 1024.0);
                        ObjectNode json = runs.line("curve_prefill");
                        json.put("layout", layout.getKey());
                        json.put("tokens", lengths[i]);
                        json.put("ms", BenchRuns.round(ms[i], 1));
                        json.put("tokens_per_s", BenchRuns.round(lengths[i] / (ms[i] / 1000), 1));
                        json.put("peak_activation_mib", BenchRuns.round(mib[i], 1));
                        runs.print(json);
                    }
                    if (layout.getValue() == config) {
                        for (int i = 0; i < WARM_UP_PASSES; i++) {  // the one-row kernels compile before the first point
                            decodeStepsMs(backend, m, lengths[0], passes);
                        }
                        for (int i = 0; i < lengths.length; i++) {
                            double best = Double.POSITIVE_INFINITY;
                            for (int run = 0; run <= runs.runs; run++) {   // run 0 warms up
                                double stepsMs = decodeStepsMs(backend, m, lengths[i], passes);
                                if (run > 0) best = Math.min(best, stepsMs);
                            }
                            decodeMs[i] = best / DECODE_STEPS;
                            ObjectNode json = runs.line("curve_decode");
                            json.put("cache", lengths[i]);
                            json.put("ms_per_token", BenchRuns.round(decodeMs[i], 2));
                            runs.print(json);
                        }
                    }
                }
                prefillMs.put(layout.getKey(), ms);
                prefillMiB.put(layout.getKey(), mib);
            }
        }
        if (plot != null) draw(prefillMs, prefillMiB, decodeMs);
        return 0;
    }

    /** The model's own pattern; for random weights also all-global and all-local versions of it. */
    private Map<String, GptNeoConfig> layouts(GptNeoConfig config) {
        Map<String, GptNeoConfig> all = new LinkedHashMap<>();
        all.put("model", config);
        if (model.source.isRandom()) {
            all.put("global", config.toBuilder().attention(AttentionType.GLOBAL).config());
            all.put("local", config.toBuilder().attention(AttentionType.LOCAL).config());
            all.put("linear", config.toBuilder().attention(AttentionType.LINEAR).config());
        }
        return all;
    }

    private static Tensor randomIds(Backend backend, Arena arena, GptNeoModel m, int tokens) {
        int[] ids = new SplittableRandom(tokens).ints(tokens, 0, m.config().vocabSize()).toArray();
        return backend.upload(Tensor.ofInts(arena, ids, 1, tokens), arena);   // [1, T]
    }

    /**
     * Milliseconds of the last {@link #DECODE_STEPS} one-token steps of a sequence of {@code cache}
     * tokens (the prompt before them is one untimed pass).
     */
    private static double decodeStepsMs(Backend backend, GptNeoModel m, int cache, Workspace passes) {
        int prompt = Math.max(1, cache - DECODE_STEPS);
        try (Arena host = Arena.ofShared(); KvCache kv = new KvCache(m, 1, new int[1], cache)) {
            int[] ids = new SplittableRandom(cache).ints(cache, 0, m.config().vocabSize()).toArray();
            try (Tape tape = BenchRuns.tape(backend, false, passes)) {
                Tensor first = backend.upload(Tensor.ofInts(host, Arrays.copyOf(ids, prompt), 1, prompt), host);   // [1, P]
                m.forwardCached(tape, first, backend.upload(Tensor.ofInts(host, BenchPrefillCommand.positions(1, prompt), 1, prompt), host), kv);
            }
            long start = System.nanoTime();
            for (int p = prompt; p < cache; p++) {
                try (Tape step = BenchRuns.tape(backend, false, passes)) {
                    m.forwardCached(step, backend.upload(Tensor.ofInts(host, new int[] {ids[p]}, 1, 1), host),
                            backend.upload(Tensor.ofInts(host, new int[] {p}, 1, 1), host), kv);
                }
            }
            return (System.nanoTime() - start) / 1e6;
        }
    }

    private void draw(Map<String, double[]> prefillMs, Map<String, double[]> prefillMiB, double[] decodeMs) throws IOException {
        Files.createDirectories(plot);
        List<Double> t = new ArrayList<>();
        for (int x : lengths) t.add((double) x);
        XYChart prefill = new XYChartBuilder().width(900).height(500).title("prefill: time and peak activation memory against T")
                .xAxisTitle("tokens T").yAxisTitle("ms (solid) / MiB (dashed)").build();
        for (String layout : prefillMs.keySet()) {
            prefill.addSeries(layout + " ms", t, boxed(prefillMs.get(layout)));
            prefill.addSeries(layout + " MiB", t, boxed(prefillMiB.get(layout)))
                    .setLineStyle(SeriesLines.DASH_DASH);
        }
        BitmapEncoder.saveBitmap(prefill, plot.resolve("prefill-cost.png").toString(), BitmapEncoder.BitmapFormat.PNG);
        XYChart decode = new XYChartBuilder().width(900).height(500).title("decode: time per token against the cache length")
                .xAxisTitle("cached tokens").yAxisTitle("ms per token").build();
        decode.addSeries("decode", t, boxed(decodeMs));
        BitmapEncoder.saveBitmap(decode, plot.resolve("decode-cost.png").toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static List<Double> boxed(double[] values) {
        return Arrays.stream(values).boxed().toList();
    }
}
