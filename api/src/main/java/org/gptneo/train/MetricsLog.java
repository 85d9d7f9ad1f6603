package org.gptneo.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.gptneo.nn.RoutingStats;

/**
 * {@code metrics.jsonl}: one JSON object per line, flushed as it is written. Training rows carry
 * {@code step, loss, lr, grad_norm, tokens_per_s}, and for a model with mixture-of-experts layers also
 * {@code aux_loss} (part of {@code loss}), {@code moe_drop_rate} ({@code {"layer": rate}}) and
 * {@code moe_tokens_per_expert} ({@code {"layer": [count per expert]}}); evaluation rows {@code step, eval_loss,
 * perplexity}. A resumed run first cuts the file back to the rows of the steps its checkpoint
 * covers (and a torn last line), so that the file ends up as an uninterrupted run's.
 */
public final class MetricsLog implements TrainerListener, AutoCloseable {
    public static final String FILE = "metrics.jsonl";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final BufferedWriter out;

    /** Opens {@code file} for a run that starts after {@code step} steps (0 = a new run: the file is emptied). */
    public MetricsLog(Path file, int step) {
        this.file = file;
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            if (Files.exists(file)) keepRowsUpTo(file, step);
            this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + file + ": " + e.getMessage(), e);
        }
    }

    public Path file() {
        return file;
    }

    @Override
    public void onStep(StepMetrics m) {
        ObjectNode row = JSON.createObjectNode();
        row.put("step", m.step());
        row.put("loss", m.loss());
        row.put("lr", m.learningRate());
        row.put("grad_norm", m.gradNorm());
        row.put("tokens_per_s", m.tokensPerSecond());
        m.routing().ifPresent(r -> putRouting(row, r));
        append(row);
    }

    @Override
    public void onEvaluation(EvalMetrics m) {
        ObjectNode row = JSON.createObjectNode();
        row.put("step", m.step());
        row.put("eval_loss", m.loss());
        row.put("perplexity", m.perplexity());
        append(row);
    }

    /** {@code aux_loss}, and per layer (keyed by its index) {@code moe_drop_rate} and {@code moe_tokens_per_expert}. */
    private static void putRouting(ObjectNode row, RoutingMetrics routing) {
        row.put("aux_loss", routing.auxLoss());
        ObjectNode dropRate = row.putObject("moe_drop_rate");
        ObjectNode tokens = row.putObject("moe_tokens_per_expert");
        for (RoutingStats layer : routing.layers()) {
            String key = Integer.toString(layer.layer());
            dropRate.put(key, layer.dropRate());
            ArrayNode counts = tokens.putArray(key);
            for (int n : layer.tokensPerExpert()) counts.add(n);
        }
    }

    private void append(ObjectNode row) {
        try {
            out.write(JSON.writeValueAsString(row));
            out.write('\n');
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** Rewrites the file (atomically) with the whole rows whose step is at most {@code step}. */
    private static void keepRowsUpTo(Path file, int step) throws IOException {
        List<String> kept = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            JsonNode row;
            try {
                row = JSON.readTree(line);
            } catch (IOException torn) {
                continue;                          // a line cut short by a crash
            }
            if (row != null && row.path("step").asInt(Integer.MAX_VALUE) <= step) kept.add(line);
        }
        Path temp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.write(temp, kept, StandardCharsets.UTF_8);
        Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close " + file + ": " + e.getMessage(), e);
        }
    }
}
