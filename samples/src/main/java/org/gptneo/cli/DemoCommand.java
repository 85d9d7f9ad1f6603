package org.gptneo.cli;

import java.lang.foreign.Arena;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.gptneo.GptNeo;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoModel;
import org.gptneo.nn.AdamW;
import org.gptneo.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code gptneo demo}: trains a tiny byte-level GPT-Neo on a built-in text and lets it continue a
 * prompt. Exit 0 only when the loss has clearly fallen (the mean of the last 10 steps is below 60%
 * of the first step's).
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {
            "Train a tiny byte-level GPT-Neo on a built-in text, then let it write.",
            "",
            "The model: vocabulary 256 (bytes), context 64, d 64, 2 layers, 4 heads,",
            "global/local attention with window 16. It trains with AdamW on random windows",
            "of a short built-in text, on the default backend (CPU: well under a minute),",
            "then continues a prompt greedily, recomputing the whole window for each byte.",
            "Exits 0 only when the final loss (mean of the last 10 steps) is below 60%% of",
            "the first step's."})
final class DemoCommand implements Callable<Integer> {
    static final int CONTEXT = 64;
    private static final int CONTINUATION_BYTES = 80;
    private static final String PROMPT = "The keeper ";

    @Spec
    CommandSpec spec;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "300", description = "Training steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--seed", paramLabel = "SEED", defaultValue = "7", description = "Seeds the weights and the batches (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--batch", paramLabel = "ROWS", defaultValue = "8", description = "Windows of " + CONTEXT + " bytes per step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--lr", paramLabel = "RATE", defaultValue = "0.002", description = "Peak AdamW learning rate: linear warm-up over the first 10%% of the steps, then cosine decay to a tenth (default: ${DEFAULT-VALUE}).")
    float lr;

    @Override
    public Integer call() {
        if (steps < 1) throw new ParameterException(spec.commandLine(), "--steps must be at least 1, got " + steps);
        if (batch < 1) throw new ParameterException(spec.commandLine(), "--batch must be at least 1, got " + batch);
        if (!(lr > 0) || Float.isInfinite(lr)) throw new ParameterException(spec.commandLine(), "--lr must be > 0, got " + lr);
        PrintWriter out = spec.commandLine().getOut();
        byte[] text = loadText();

        try (GptNeoModel model = GptNeo.builder()
                .vocabSize(256).contextLength(CONTEXT).hiddenSize(64).layers(2).heads(4)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(16)
                .seed(seed).build();
             AdamW optimizer = new AdamW(model.backend(), model.parameters(),
                     AdamW.Settings.defaults().withLr(lr), AdamW.decayExceptBiasAndNorm())) {
            out.printf(Locale.ROOT, "training a %d-parameter byte-level GPT-Neo on %d bytes of text: %d steps of %d x %d tokens, lr %s, %s backend%n",
                    model.parameterCount(), text.length, steps, batch, CONTEXT, lr, model.backend().name());
            out.flush();

            float[] losses = new float[steps];
            long start = System.nanoTime();
            train(model, optimizer, text, losses);
            double seconds = (System.nanoTime() - start) / 1e9;

            float first = losses[0];
            float last = meanOfLast(losses, 10);
            out.printf(Locale.ROOT, "loss %.2f → %.2f over %d steps in %.1f s (%.0f tokens/s)%n",
                    first, last, steps, seconds, (double) steps * batch * CONTEXT / seconds);
            out.printf("prompt    \"%s\"%ncontinued \"%s\"%n", PROMPT, printable(continueGreedily(model, PROMPT)));
            out.flush();
            if (!(last < 0.6f * first)) {
                throw new IllegalStateException(String.format(Locale.ROOT,
                        "the loss did not fall enough: %.2f is not below 60%% of %.2f (try more --steps)", last, first));
            }
        }
        return 0;
    }

    private void train(GptNeoModel model, AdamW optimizer, byte[] text, float[] losses) {
        Backend backend = model.backend();
        SplittableRandom random = new SplittableRandom(seed);
        ProgressBarBuilder bar = new ProgressBarBuilder()
                .setTaskName("training").setInitialMax(steps).setUnit(" steps", 1)
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250)
                .setConsumer(new ProgressLine(spec.commandLine().getErr()));
        try (ProgressBar progress = bar.build()) {
            for (int step = 0; step < steps; step++) {
                model.zeroGrad();
                try (Tape tape = new Tape(backend, true); Arena host = Arena.ofConfined()) {
                    int[] window = new int[batch * CONTEXT];                   // [B, T] random windows of the text
                    for (int row = 0; row < batch; row++) {
                        int offset = random.nextInt(text.length - CONTEXT + 1);
                        for (int col = 0; col < CONTEXT; col++) {
                            window[row * CONTEXT + col] = text[offset + col] & 0xFF;
                        }
                    }
                    Tensor ids = backend.upload(Tensor.ofInts(host, window, batch, CONTEXT), host);
                    Var logits = model.forward(tape, ids, true);
                    Var loss = model.loss(tape, logits, ids);
                    tape.backward(loss);
                    losses[step] = backend.download(loss.value(), host).getFloat(0);
                }
                if (!Float.isFinite(losses[step])) {
                    throw new IllegalStateException("training diverged at step " + (step + 1) + " (loss " + losses[step]
                            + "): try a smaller --lr");
                }
                optimizer.setLearningRate(learningRate(step));
                optimizer.step();
                progress.step();
                progress.setExtraMessage(String.format(Locale.ROOT, "loss %.3f", losses[step]));
            }
        }
    }

    /** Linear warm-up over the first 10% of the steps, then cosine decay to a tenth of --lr. */
    float learningRate(int step) {
        int warmup = Math.max(1, steps / 10);
        if (step < warmup) {
            return lr * (step + 1) / warmup;
        }
        double progress = (double) (step - warmup) / Math.max(1, steps - warmup);
        return (float) (lr * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * progress))));
    }

    /** Greedy decoding by full recomputation: a forward pass over the whole (last ≤ 64 bytes) window per byte. */
    static String continueGreedily(GptNeoModel model, String prompt) {
        int vocab = model.config().vocabSize();
        StringBuilder bytes = new StringBuilder(prompt);
        for (int i = 0; i < CONTINUATION_BYTES; i++) {
            int n = Math.min(bytes.length(), CONTEXT);
            Backend backend = model.backend();
            try (Tape tape = new Tape(backend, false); Arena host = Arena.ofConfined()) {
                int[] window = new int[n];
                for (int j = 0; j < n; j++) {
                    window[j] = bytes.charAt(bytes.length() - n + j) & 0xFF;
                }
                Tensor ids = backend.upload(Tensor.ofInts(host, window, 1, n), host);
                Tensor logits = model.forward(tape, ids, false).value().reshape(n, vocab);   // [n, V]
                float[] last = backend.download(logits.rows(n - 1, n), host).toFloatArray();  // [V]
                int best = 0;
                for (int v = 1; v < vocab; v++) {
                    if (last[v] > last[best]) best = v;
                }
                bytes.append((char) best);
            }
        }
        return bytes.toString();
    }

    /** Bytes as characters, with line breaks shown as spaces and non-printable bytes as '?'. */
    private static String printable(String bytes) {
        StringBuilder sb = new StringBuilder(bytes.length());
        for (int i = 0; i < bytes.length(); i++) {
            char c = bytes.charAt(i);
            sb.append(c == '\n' ? ' ' : c >= 32 && c < 127 ? c : '?');
        }
        return sb.toString();
    }

    private static float meanOfLast(float[] values, int count) {
        int n = Math.min(count, values.length);
        double sum = 0;
        for (int i = values.length - n; i < values.length; i++) sum += values[i];
        return (float) (sum / n);
    }

    private static byte[] loadText() {
        try (InputStream in = DemoCommand.class.getResourceAsStream("demo-text.txt")) {
            if (in == null) {
                throw new IllegalStateException("the demo text (org/gptneo/cli/demo-text.txt) is missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the demo text: " + e.getMessage(), e);
        }
    }
}
