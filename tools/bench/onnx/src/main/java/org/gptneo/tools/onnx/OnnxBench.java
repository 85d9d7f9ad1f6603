package org.gptneo.tools.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.io.Reader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * ONNX Runtime (Java API, CPU execution provider) timing of the GPT-Neo graphs that
 * {@code export_onnx.py} writes, printing JSON lines with the keys of {@code gptneo bench prefill|decode}
 * plus {@code "engine"}.
 *
 * <pre>
 *   OnnxBench prefill --model DIR [--tokens 512] [--batch-size 1] [--runs 3] [--threads N]
 *   OnnxBench decode  --model DIR [--prompt 16] [--new 64] [--batch-size 1] [--runs 3] [--threads N] [--bandwidth-gb-s X]
 *   OnnxBench check   --model DIR     (the graphs' logits against torch's, written by the export)
 * </pre>
 *
 * Sessions: intra-op threads = --threads (default: the available processors), inter-op 1, sequential
 * execution, ORT_ENABLE_ALL graph optimisations at session creation. Every time is the best of --runs
 * after one warm-up run. prefill "all" runs prefill.onnx asking only for the logits [B, T, V];
 * "last" runs prefill_last.onnx (logits [B, V] and the present keys and values, the cache a generation
 * starts from). decode runs prefill_last.onnx on the prompt, then decode.onnx once per new token, each
 * step's presents fed back as the next step's past, greedy argmax; only the new-token steps are timed.
 */
public final class OnnxBench {
    private final Map<String, String> options = new HashMap<>();
    private Path dir;
    private Properties meta;
    private int threads;
    private int runs;
    private OrtEnvironment env;

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
            System.out.println("usage: OnnxBench prefill|decode|check --model DIR [--tokens T] [--batch-size B] [--prompt P] [--new N]"
                    + " [--runs R] [--threads N] [--bandwidth-gb-s X]");
            return;
        }
        new OnnxBench().run(args);
    }

    private void run(String[] args) throws Exception {
        for (int i = 1; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) fail("expected --option value, got '" + args[i] + "'");
            options.put(args[i].substring(2), args[++i]);
        }
        dir = Path.of(option("model", null));
        meta = properties(dir.resolve("meta.properties"));
        threads = intOption("threads", Runtime.getRuntime().availableProcessors());
        runs = intOption("runs", 3);
        if (threads < 1 || runs < 1) fail("--threads and --runs must be ≥ 1");
        env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING, "OnnxBench");
        switch (args[0]) {
            case "prefill" -> prefill();
            case "decode" -> decode();
            case "check" -> check();
            default -> fail("unknown command '" + args[0] + "' (prefill, decode or check)");
        }
    }

    // ---- workloads

    private void prefill() throws OrtException {
        int tokens = intOption("tokens", 512), batch = intOption("batch-size", 1);
        if (tokens < 1 || tokens > metaInt("max_position_embeddings")) fail("--tokens must be in [1, context length]");
        if (batch < 1) fail("--batch-size must be ≥ 1");
        long[] ids = randomIds(batch * tokens);
        double all, last;
        try (OrtSession s = session("prefill.onnx"); OnnxTensor input = idsTensor(ids, batch, tokens)) {
            Map<String, OnnxTensor> in = Map.of("input_ids", input);
            all = bestMs(() -> { try (OrtSession.Result r = s.run(in, Set.of("logits"))) { r.get(0); } });
        }
        try (OrtSession s = session("prefill_last.onnx"); OnnxTensor input = idsTensor(ids, batch, tokens)) {
            Map<String, OnnxTensor> in = Map.of("input_ids", input);
            last = bestMs(() -> { try (OrtSession.Result r = s.run(in)) { r.get(0); } });
        }
        for (Object[] row : new Object[][] {{"all", all}, {"last", last}}) {
            double ms = (double) row[1];
            Map<String, Object> json = line("prefill");
            json.put("logits", row[0]);
            json.put("batch", batch);
            json.put("tokens", tokens);
            json.put("dtype", "f32");
            json.put("ms", round(ms, 2));
            json.put("tokens_per_s", round(batch * tokens / (ms / 1000), 1));
            print(json);
        }
    }

    private void decode() throws OrtException {
        int prompt = intOption("prompt", 16), newTokens = intOption("new", 64), batch = intOption("batch-size", 1);
        int context = metaInt("max_position_embeddings");
        if (prompt < 1 || prompt >= context) fail("--prompt must be in [1, " + (context - 1) + "]");
        if (newTokens < 1 || newTokens > context - prompt) fail("--new must be in [1, context - prompt]");
        if (batch < 1) fail("--batch-size must be ≥ 1");
        String given = options.get("bandwidth-gb-s");
        double bandwidth = given != null ? Double.parseDouble(given) : readBandwidthGbs();
        long[] ids = randomIds(batch * prompt);
        double bestPrefill = 0, bestSteps = Double.POSITIVE_INFINITY;
        try (OrtSession first = session("prefill_last.onnx"); OrtSession step = session("decode.onnx")) {
            for (int run = 0; run <= runs; run++) {   // run 0 warms up
                double[] t = decodeOnce(first, step, ids, batch, prompt, newTokens);
                if (run > 0 && t[1] < bestSteps) {
                    bestPrefill = t[0];
                    bestSteps = t[1];
                }
            }
        }
        double stepBytes = 0;
        for (int s = 0; s < newTokens; s++) stepBytes += stepBytes(batch, prompt + 1 + s);
        stepBytes /= newTokens;
        double stepsPerS = newTokens / (bestSteps / 1000);
        Map<String, Object> json = line("decode");
        json.put("batch", batch);
        json.put("prompt", prompt);
        json.put("new", newTokens);
        json.put("dtype", "f32");
        json.put("prefill_ms", round(bestPrefill, 2));
        json.put("ms_per_token", round(bestSteps / newTokens, 3));
        json.put("tokens_per_s", round(batch * stepsPerS, 1));
        json.put("bytes_per_token", Math.round(stepBytes / batch));
        json.put("bandwidth_gb_s", round(bandwidth, 2));
        json.put("bandwidth_fraction", round(stepBytes * stepsPerS / 1e9 / bandwidth, 3));
        json.put("bandwidth_source", given != null ? "given (--bandwidth-gb-s)" : "java long[] sum of 256 MiB");
        print(json);
    }

    /** One prompt pass and N greedy steps: {prefill ms, steps ms}. */
    private double[] decodeOnce(OrtSession first, OrtSession step, long[] ids, int batch, int prompt, int newTokens) throws OrtException {
        int layers = metaInt("num_layers");
        long start = System.nanoTime();
        OrtSession.Result previous;
        long[] next;
        try (OnnxTensor input = idsTensor(ids, batch, prompt)) {
            previous = first.run(Map.of("input_ids", input));
            next = argmax((OnnxTensor) previous.get(0), batch);
        }
        long prefillEnd = System.nanoTime();
        try {
            for (int s = 0; s < newTokens; s++) {
                try (OnnxTensor input = idsTensor(next, batch, 1)) {
                    Map<String, OnnxTensor> in = new HashMap<>();
                    in.put("input_ids", input);
                    for (int l = 0; l < layers; l++) {
                        in.put("past." + l + ".key", tensor(previous, "present." + l + ".key"));
                        in.put("past." + l + ".value", tensor(previous, "present." + l + ".value"));
                    }
                    OrtSession.Result result = step.run(in);
                    previous.close();
                    previous = result;
                    next = argmax((OnnxTensor) previous.get(0), batch);
                }
            }
        } finally {
            previous.close();
        }
        long end = System.nanoTime();
        return new double[] {(prefillEnd - start) / 1e6, (end - prefillEnd) / 1e6};
    }

    /** The graphs' logits for export_onnx.py's check input against torch's (max abs differences). */
    private void check() throws OrtException, IOException {
        Properties c = properties(dir.resolve("check.properties"));
        int batch = Integer.parseInt(c.getProperty("batch")), prompt = Integer.parseInt(c.getProperty("prompt"));
        int v = metaInt("vocab_size"), layers = metaInt("num_layers");
        String[] parts = c.getProperty("ids").split(",");
        long[] all = new long[parts.length];
        for (int i = 0; i < parts.length; i++) all[i] = Long.parseLong(parts[i].trim());
        long[] ids = new long[batch * prompt], next = new long[batch];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(all, b * (prompt + 1), ids, b * prompt, prompt);
            next[b] = all[b * (prompt + 1) + prompt];
        }
        double dAll, dLast, dDecode;
        try (OrtSession s = session("prefill.onnx"); OnnxTensor input = idsTensor(ids, batch, prompt);
             OrtSession.Result r = s.run(Map.of("input_ids", input), Set.of("logits"))) {
            FloatBuffer logits = ((OnnxTensor) r.get(0)).getFloatBuffer();   // [B, T, V]
            float[] lastRows = new float[batch * v];
            for (int b = 0; b < batch; b++) logits.get(((b + 1) * prompt - 1) * v, lastRows, b * v, v);
            dAll = maxDiff(FloatBuffer.wrap(lastRows), floats("check_prefill_all_last_row.f32"));
        }
        try (OrtSession first = session("prefill_last.onnx"); OrtSession step = session("decode.onnx");
             OnnxTensor input = idsTensor(ids, batch, prompt); OrtSession.Result r = first.run(Map.of("input_ids", input));
             OnnxTensor nextIds = idsTensor(next, batch, 1)) {
            dLast = maxDiff(((OnnxTensor) r.get(0)).getFloatBuffer(), floats("check_prefill_last.f32"));
            Map<String, OnnxTensor> in = new HashMap<>();
            in.put("input_ids", nextIds);
            for (int l = 0; l < layers; l++) {
                in.put("past." + l + ".key", tensor(r, "present." + l + ".key"));
                in.put("past." + l + ".value", tensor(r, "present." + l + ".value"));
            }
            try (OrtSession.Result d = step.run(in)) {
                dDecode = maxDiff(((OnnxTensor) d.get(0)).getFloatBuffer(), floats("check_decode.f32"));
            }
        }
        double worst = Math.max(dAll, Math.max(dLast, dDecode));
        Map<String, Object> json = line("check");
        json.put("batch", batch);
        json.put("prompt", prompt);
        json.put("max_abs_diff_prefill_all", dAll);
        json.put("max_abs_diff_prefill_last", dLast);
        json.put("max_abs_diff_decode", dDecode);
        json.put("ok", worst < 1e-3);
        print(json);
        if (worst >= 1e-3) System.exit(1);
    }

    // ---- ONNX Runtime

    private OrtSession session(String file) throws OrtException {
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setIntraOpNumThreads(threads);
        o.setInterOpNumThreads(1);
        o.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        return env.createSession(dir.resolve(file).toString(), o);
    }

    private OnnxTensor idsTensor(long[] ids, int batch, int tokens) throws OrtException {
        return OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {batch, tokens});
    }

    private static OnnxTensor tensor(OrtSession.Result r, String name) {
        OnnxValue v = r.get(name).orElseThrow(() -> new IllegalStateException("graph has no output " + name));
        return (OnnxTensor) v;
    }

    private long[] argmax(OnnxTensor logits, int batch) {
        FloatBuffer f = logits.getFloatBuffer();   // [B, V]
        int v = metaInt("vocab_size");
        long[] best = new long[batch];
        for (int b = 0; b < batch; b++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < v; j++) {
                float x = f.get(b * v + j);
                if (x > max) {
                    max = x;
                    best[b] = j;
                }
            }
        }
        return best;
    }

    // ---- measurement helpers

    private interface Work {
        void run() throws OrtException;
    }

    private double bestMs(Work work) throws OrtException {
        work.run();
        double best = Double.POSITIVE_INFINITY;
        for (int i = 0; i < runs; i++) {
            long start = System.nanoTime();
            work.run();
            best = Math.min(best, (System.nanoTime() - start) / 1e6);
        }
        return best;
    }

    /**
     * Bytes one decode step reads, counted as {@code gptneo bench decode} counts them: every parameter
     * but wpe once (F32), plus keys and values of each layer's cache of {@code length} positions (local
     * layers at most their window) for every row. The graphs keep the whole cache and mask local layers,
     * as HF's eager model does; at the benchmark's lengths (below the window) that is the same traffic.
     */
    private double stepBytes(int batch, int length) {
        long positions = 0;
        int window = metaInt("window_size");
        for (String kind : meta.getProperty("layer_types").split(",")) positions += kind.equals("local") ? Math.min(length, window) : length;
        return Long.parseLong(meta.getProperty("weight_bytes")) + 2.0 * Float.BYTES * metaInt("hidden_size") * positions * batch;
    }

    /** Read bandwidth as plain Java sees it: best of 3 sums (after a warm-up) of a 256 MiB long[] split over the threads. */
    private double readBandwidthGbs() {
        long[] data = new long[32 << 20];
        for (int i = 0; i < data.length; i++) data[i] = i;
        double best = Double.POSITIVE_INFINITY;
        for (int r = 0; r < 4; r++) {
            long start = System.nanoTime();
            List<Thread> workers = new ArrayList<>();
            long[] sums = new long[threads];
            for (int t = 0; t < threads; t++) {
                int id = t, from = (int) ((long) data.length * t / threads), to = (int) ((long) data.length * (t + 1) / threads);
                Thread w = new Thread(() -> {
                    long s = 0;
                    for (int i = from; i < to; i++) s += data[i];
                    sums[id] = s;
                });
                workers.add(w);
                w.start();
            }
            for (Thread w : workers) {
                try {
                    w.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            }
            if (r > 0) best = Math.min(best, (System.nanoTime() - start) / 1e9);
        }
        return data.length * 8.0 / best / 1e9;
    }

    private long[] randomIds(int n) {
        return new SplittableRandom(1).longs(n, 0, metaInt("vocab_size")).toArray();
    }

    private FloatBuffer floats(String file) throws IOException {
        return ByteBuffer.wrap(Files.readAllBytes(dir.resolve(file))).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    }

    private static double maxDiff(FloatBuffer a, FloatBuffer b) {
        if (a.remaining() != b.remaining()) throw new IllegalStateException("sizes differ: " + a.remaining() + " vs " + b.remaining());
        double max = 0;
        for (int i = 0; i < a.remaining(); i++) max = Math.max(max, Math.abs(a.get(a.position() + i) - b.get(b.position() + i)));
        return max;
    }

    // ---- options, output

    private String option(String name, String fallback) {
        String v = options.getOrDefault(name, fallback);
        if (v == null) fail("--" + name + " is required");
        return v;
    }

    private int intOption(String name, int fallback) {
        try {
            return Integer.parseInt(option(name, Integer.toString(fallback)));
        } catch (NumberFormatException e) {
            throw fail("--" + name + " must be an integer");
        }
    }

    private int metaInt(String key) {
        return Integer.parseInt(meta.getProperty(key));
    }

    private static Properties properties(Path file) {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        } catch (IOException e) {
            throw fail("cannot read " + file + " (run export_onnx.py first): " + e.getMessage());
        }
        return p;
    }

    private Map<String, Object> line(String what) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("what", what);
        json.put("threads", threads);
        return json;
    }

    private void print(Map<String, Object> json) {
        json.put("engine", "onnxruntime " + env.getVersion() + " (Java API, CPU EP, ORT_ENABLE_ALL), " + threads + " intra-op threads");
        StringBuilder s = new StringBuilder("{");
        for (Map.Entry<String, Object> e : json.entrySet()) {
            if (s.length() > 1) s.append(',');
            s.append('"').append(e.getKey()).append("\":");
            Object v = e.getValue();
            s.append(v instanceof String str ? "\"" + str.replace("\\", "\\\\").replace("\"", "\\\"") + "\"" : String.valueOf(v));
        }
        System.out.println(s.append('}'));
        System.out.flush();
    }

    private static double round(double x, int digits) {
        double scale = Math.pow(10, digits);
        return Math.round(x * scale) / scale;
    }

    private static RuntimeException fail(String message) {
        System.err.println("OnnxBench: " + message);
        System.exit(2);
        return new IllegalStateException(message);
    }

    static {
        Locale.setDefault(Locale.ROOT);
    }
}
