package org.gptneo.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.gptneo.GptNeo;
import org.gptneo.data.DatasetOptions;
import org.gptneo.data.Datasets;
import org.gptneo.data.SequenceDataset;
import org.gptneo.data.Split;
import org.gptneo.data.TokenSource;
import org.gptneo.generate.GenerationConfig;
import org.gptneo.generate.Generator;
import org.gptneo.generate.TokenListener;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import org.gptneo.tokenizer.TokenizerWriter;
import org.gptneo.train.EvalMetrics;
import org.gptneo.train.Evaluation;
import org.gptneo.train.MetricsLog;
import org.gptneo.train.Schedule;
import org.gptneo.train.Trainer;
import org.gptneo.train.TrainingResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code gptneo demo}: the library's main job end to end, embedded: a small GPT-Neo from the
 * builder with GPT-2's tokenizer is fine-tuned by the Trainer on a generated corpus (tokenized into
 * an Arrow cache), with perplexity and a greedy sample before and after, a checkpoint saved,
 * reloaded and generating the same text again, and the loss curve drawn. Exit 0 only when the
 * held-out perplexity fell below half its starting value and the reloaded model writes the same.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Fine-tune a small GPT-Neo on a generated corpus and show that it learned.",
            "",
            "The model: GPT-2's vocabulary and tokenizer, context 128, d 128, 4 layers, 4 heads,",
            "global/local attention (window 32), built with GptNeo.builder(). The Trainer runs",
            "AdamW with warm-up and cosine decay on 10% held-out harbour stories, evaluating as",
            "it goes; then the model is saved as a Hugging Face folder, loaded back and asked",
            "again. About a minute on 2 cores. Exits 0 only when the held-out perplexity fell",
            "below half of where it started and the reloaded model continues the prompt alike."})
final class DemoCommand implements Callable<Integer> {
    private static final String PROMPT = "In the morning, the keeper";
    private static final int CONTEXT = 128, SEQ_LEN = 64, BATCH = 8, NEW_TOKENS = 24;

    @Spec
    CommandSpec spec;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "150", description = "Training steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--seed", paramLabel = "SEED", defaultValue = "7", description = "Seeds the weights, the corpus, the split and the data order (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--lr", paramLabel = "RATE", defaultValue = "2e-3", description = "Peak learning rate: warm-up over 10%% of the steps, then cosine decay to a tenth (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--out", paramLabel = "DIR", description = "Where the corpus, checkpoints, model, metrics and plot go (default: a new temporary folder).")
    Path out;

    @Override
    public Integer call() throws IOException {
        if (steps < 1) throw new ParameterException(spec.commandLine(), "--steps must be at least 1, got " + steps);
        if (!(lr > 0) || Double.isInfinite(lr)) throw new ParameterException(spec.commandLine(), "--lr must be > 0, got " + lr);
        PrintWriter say = spec.commandLine().getOut();
        Path dir = out != null ? Files.createDirectories(out) : Files.createTempDirectory("gptneo-demo-");
        Gpt2Tokenizer tokenizer = Gpt2Tokenizer.builtIn();
        Path corpus = Files.writeString(dir.resolve("harbour-stories.txt"), DemoCorpus.generate(seed, 400));

        try (GptNeoModel model = GptNeo.builder()
                .vocabSize(tokenizer.vocabSize()).contextLength(CONTEXT).hiddenSize(128).layers(4).heads(4)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(32).seed(seed).build();
             TokenSource tokens = Datasets.open(corpus, DatasetOptions.defaults().withTokenizer(tokenizer))) {
            Split split = SequenceDataset.packed(tokens, SEQ_LEN).split(0.1, seed);
            say.printf(Locale.ROOT, "model: GPT-Neo with %,d parameters (4 layers, d 128, global/local attention), %s backend%n",
                    model.parameterCount(), model.backend().name());
            say.printf(Locale.ROOT, "data:  %s; %d sequences of %d tokens for training, %d held out%n",
                    tokens.description(), split.train().size(), SEQ_LEN, split.validation().size());
            EvalMetrics before = Evaluation.run(model, split.validation(), BATCH, 0, 0);
            String sampleBefore = continuation(model, tokenizer);
            say.printf(Locale.ROOT, "before: held-out perplexity %.1f%n        \"%s\" → \"%s\"%n", before.perplexity(), PROMPT, sampleBefore);
            say.flush();

            TrainingResult result;
            long start = System.nanoTime();
            PrintWriter err = spec.commandLine().getErr();
            try (TrainingProgress progress = new TrainingProgress(err, steps, 0, TrainingProgress.onTerminal())) {
                result = Trainer.builder().model(model).data(split.train()).evalData(split.validation())
                        .steps(steps).batchSize(BATCH).learningRate(lr).warmup(Math.max(1, steps / 10))
                        .schedule(Schedule.COSINE).learningRateFloor(0.1).weightDecay(0.01).gradClip(1.0).seed(seed)
                        .evalEvery(Math.max(1, steps / 5)).checkpointEvery(Math.max(1, steps / 2)).keepCheckpoints(1)
                        .outputDir(dir).listener(progress).build().fit();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            EvalMetrics after = result.lastEvaluation().orElseThrow();
            String sampleAfter = continuation(model, tokenizer);
            say.printf(Locale.ROOT, "after %d steps (%.0f s, %.0f tokens/s): held-out perplexity %.1f (was %.1f)%n        \"%s\" → \"%s\"%n",
                    result.steps(), seconds, (double) steps * BATCH * SEQ_LEN / seconds, after.perplexity(), before.perplexity(),
                    PROMPT, sampleAfter);

            Path saved = dir.resolve("model");
            HfCheckpoint.save(model, saved);
            TokenizerWriter.writeVocabAndMerges(tokenizer, saved);
            String reloaded;
            try (GptNeoModel back = GptNeo.load(saved)) {
                reloaded = continuation(back, GptNeo.tokenizer(saved));
            }
            say.printf("saved:  %s (Hugging Face folder); last checkpoint %s%n", saved, result.lastCheckpoint().orElseThrow());
            say.printf("reloaded it: \"%s\" → \"%s\" (%s)%n", PROMPT, reloaded, reloaded.equals(sampleAfter) ? "the same" : "DIFFERENT");
            Path png = LossPlot.write(dir.resolve(MetricsLog.FILE), dir.resolve("loss.png"), "gptneo demo: loss");
            say.printf("plot:   %s (metrics in %s)%n", png, dir.resolve(MetricsLog.FILE));
            say.flush();
            if (!(after.perplexity() < 0.5 * before.perplexity())) {
                throw new IllegalStateException(String.format(Locale.ROOT,
                        "the model did not learn enough: perplexity %.1f is not below half of %.1f (try more --steps)",
                        after.perplexity(), before.perplexity()));
            }
            if (!reloaded.equals(sampleAfter)) {
                throw new IllegalStateException("the reloaded model continues the prompt differently from the trained one");
            }
        }
        return 0;
    }

    private static String continuation(GptNeoModel model, Gpt2Tokenizer tokenizer) {
        String text = new Generator(model, tokenizer).generate(PROMPT, GenerationConfig.greedy(NEW_TOKENS).withStopAtEos(true), TokenListener.NONE).text();
        return text.replace('\n', ' ').strip();
    }
}
