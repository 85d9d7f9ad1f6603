package org.gptneo.cli;

import java.io.PrintWriter;
import me.tongfei.progressbar.ProgressBarConsumer;

/**
 * Draws the progress bar on one line of a command's stderr (redrawn with '\r'), so it goes wherever
 * the command's err stream goes, in tests too. Width: $COLUMNS when set, else 80.
 */
final class ProgressLine implements ProgressBarConsumer {
    private final PrintWriter err;
    private final int width;

    ProgressLine(PrintWriter err) {
        this.err = err;
        this.width = columns();
    }

    @Override
    public int getMaxRenderedLength() {
        return width;
    }

    @Override
    public void accept(String rendered) {
        synchronized (err) {
            err.print('\r');
            err.print(rendered);
            err.flush();
        }
    }

    @Override
    public void close() {
        synchronized (err) {
            err.println();
            err.flush();
        }
    }

    private static int columns() {
        try {
            int c = Integer.parseInt(System.getenv().getOrDefault("COLUMNS", "80").strip());
            return Math.max(40, Math.min(c - 1, 160));
        } catch (NumberFormatException e) {
            return 80;
        }
    }
}
