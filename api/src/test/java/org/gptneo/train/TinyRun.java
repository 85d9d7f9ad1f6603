package org.gptneo.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.gptneo.GptNeo;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoModel;

/**
 * One small training run shared by the checkpoint tests and the child process they kill: a tiny
 * GPT-Neo with dropout, eight steps with warm-up, cosine decay, accumulation, clipping, a
 * validation split, evaluation every 4 steps and a checkpoint every 2.
 */
final class TinyRun {
    static final int STEPS = 8;

    private TinyRun() {}

    /** The model, on its own 2-thread CPU backend (closed with it). */
    static GptNeoModel model(long seed) {
        CpuBackend backend = new CpuBackend(2);
        return GptNeo.builder().vocabSize(64).contextLength(32).hiddenSize(16).layers(2).heads(2)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(8)
                .dropout(0.1f).seed(seed).build(backend).closingBackend();
    }

    static TrainerBuilder trainer(GptNeoModel model, Path out) {
        return Trainer.builder().model(model).data(ArrayTokens.patterned(3000, 64, 5)).seqLen(16)
                .validationSplit(0.1).steps(STEPS).batchSize(2).accumulate(2)
                .learningRate(1e-2).warmup(2).schedule(Schedule.COSINE).weightDecay(0.1).gradClip(1.0)
                .seed(11).evalEvery(4).evalBatches(3).checkpointEvery(2).outputDir(out);
    }

    /** metrics.jsonl without the wall-clock column: what must be equal between runs. */
    static List<String> curve(Path out) {
        ObjectMapper json = new ObjectMapper();
        List<String> rows = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(out.resolve(MetricsLog.FILE))) {
                JsonNode row = json.readTree(line);
                ((com.fasterxml.jackson.databind.node.ObjectNode) row).remove("tokens_per_s");
                rows.add(row.toString());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return rows;
    }

    /**
     * The child process of {@link TrainerResumeTest}: trains into args[0] and, when the checkpoint of
     * step args[1] has all its files written but is not yet renamed into place, prints PAUSED and
     * waits to be killed.
     */
    public static void main(String[] args) {
        Path out = Path.of(args[0]);
        int pauseAt = Integer.parseInt(args[1]);
        try (GptNeoModel model = model(3)) {
            trainer(model, out).checkpointObserver((step, partial) -> {
                if (step == pauseAt) {
                    System.out.println("PAUSED " + partial);
                    System.out.flush();
                    try {
                        Thread.sleep(120_000);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    throw new IllegalStateException("the test should have killed this process");
                }
            }).build().fit();
        }
    }
}
