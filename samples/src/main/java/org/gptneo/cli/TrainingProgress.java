package org.gptneo.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.gptneo.train.EvalMetrics;
import org.gptneo.train.StepMetrics;
import org.gptneo.train.TrainerListener;

/**
 * What a person watching {@code train} or {@code demo} sees: on a terminal a progress bar (step,
 * loss, lr, tokens/s, ETA) redrawn in place; otherwise (a pipe, a log file, CI) a plain line at most
 * every few seconds and for the last step, with the same numbers. Evaluations get a line of their own.
 */
final class TrainingProgress implements TrainerListener, AutoCloseable {
    private static final long PLAIN_LINE_NANOS = 5_000_000_000L;

    private final PrintWriter err;
    private final int totalSteps;
    private final ProgressBar bar;            // null: plain lines
    private final long start = System.nanoTime();
    private final int firstStep;
    private long lastLine = Long.MIN_VALUE;

    /**
     * @param terminal  draw a bar (else plain lines)
     * @param firstStep the step a resumed run starts after (for the ETA)
     */
    TrainingProgress(PrintWriter err, int totalSteps, int firstStep, boolean terminal) {
        this.err = err;
        this.totalSteps = totalSteps;
        this.firstStep = firstStep;
        this.bar = terminal
                ? new ProgressBarBuilder().setTaskName("training").setInitialMax(totalSteps).startsFrom(firstStep, Duration.ZERO)
                        .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250).setUnit(" steps", 1)
                        .setConsumer(new ProgressLine(err)).build()
                : null;
    }

    /** True when stdout and stderr reach a terminal (the JVM's own test). */
    static boolean onTerminal() {
        return System.console() != null && System.console().isTerminal();
    }

    @Override
    public void onStep(StepMetrics m) {
        String numbers = String.format(Locale.ROOT, "loss %.4f  lr %.2e  %.0f tokens/s", m.loss(), m.learningRate(), m.tokensPerSecond());
        if (bar != null) {
            bar.stepTo(m.step());
            bar.setExtraMessage(numbers);
            return;
        }
        long now = System.nanoTime();
        if (now - lastLine >= PLAIN_LINE_NANOS || m.step() == totalSteps || m.step() == firstStep + 1) {
            lastLine = now;
            err.printf(Locale.ROOT, "step %d/%d  %s  ETA %s%n", m.step(), totalSteps, numbers, eta(m.step(), now));
            err.flush();
        }
    }

    @Override
    public void onEvaluation(EvalMetrics m) {
        String line = String.format(Locale.ROOT, "eval at step %d: loss %.4f  perplexity %.2f", m.step(), m.loss(), m.perplexity());
        if (bar != null) {
            synchronized (err) {
                err.print("\r\033[K");
                err.println(line);
                err.flush();
            }
        } else {
            err.println(line);
            err.flush();
        }
    }

    private String eta(int step, long now) {
        int done = step - firstStep;
        long seconds = done <= 0 ? 0 : (long) ((now - start) / 1e9 / done * (totalSteps - step));
        return String.format(Locale.ROOT, "%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60);
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
    }
}
