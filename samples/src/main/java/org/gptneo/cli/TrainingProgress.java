package org.gptneo.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
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
    private long lastLine;
    private boolean reported;                 // a plain line was printed
    private int rateStep = -1;                // the first step seen, and when: the ETA's reference
    private long rateNanos;
    private volatile Duration eta = Duration.ZERO;

    /**
     * @param terminal  draw a bar (else plain lines)
     * @param firstStep the step the run starts after, when known (a resumed run may start later: the
     *                  ETA is measured from the first step reported)
     */
    TrainingProgress(PrintWriter err, int totalSteps, int firstStep, boolean terminal) {
        this.err = err;
        this.totalSteps = totalSteps;
        this.firstStep = firstStep;
        this.bar = terminal
                ? new ProgressBarBuilder().setTaskName("training").setInitialMax(totalSteps).startsFrom(firstStep, Duration.ZERO)
                        .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250).setUnit(" steps", 1)
                        .setEtaFunction(state -> Optional.of(eta))
                        .setConsumer(new ProgressLine(err)).build()
                : null;
    }

    /** True when stdout and stderr reach a terminal (the JVM's own test). */
    static boolean onTerminal() {
        return System.console() != null && System.console().isTerminal();
    }

    @Override
    public void onStep(StepMetrics m) {
        long now = System.nanoTime();
        eta = eta(m.step(), now);
        String numbers = String.format(Locale.ROOT, "loss %.4f  lr %.2e  %.0f tokens/s", m.loss(), m.learningRate(), m.tokensPerSecond());
        if (bar != null) {
            bar.stepTo(m.step());
            bar.setExtraMessage(numbers);
            return;
        }
        if (!reported || now - lastLine >= PLAIN_LINE_NANOS || m.step() == totalSteps) {
            reported = true;
            lastLine = now;
            long seconds = eta.toSeconds();
            err.printf(Locale.ROOT, "step %d/%d  %s  ETA %d:%02d:%02d%n", m.step(), totalSteps, numbers,
                    seconds / 3600, seconds / 60 % 60, seconds % 60);
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

    /**
     * The time left at {@code step}: the mean time per step since the first step seen (since the start,
     * over the steps after {@code firstStep}, until a second one is seen).
     */
    private Duration eta(int step, long now) {
        if (rateStep < 0) {
            rateStep = step;
            rateNanos = now;
        }
        double nanosPerStep = step > rateStep ? (double) (now - rateNanos) / (step - rateStep)
                : step > firstStep ? (double) (now - start) / (step - firstStep) : 0;
        return Duration.ofNanos((long) (nanosPerStep * (totalSteps - step)));
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
    }
}
