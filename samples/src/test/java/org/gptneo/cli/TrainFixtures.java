package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

/**
 * What the train and perplexity tests share: a tiny model file with GPT-2's vocabulary (so that any
 * text tokenizes within it; hidden size 16, one layer, context 32) and a small text file.
 */
final class TrainFixtures {
    static final int CONTEXT = 32;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] WORDS = "the quick brown fox jumps over a lazy dog and the cat runs far away from home".split(" ");

    private TrainFixtures() {}

    /** The tiny model with two layers (global, then local with a window of 4), for runs split into pipeline stages. */
    static Path twoLayerModelFile(Path dir) {
        return writeModel(dir.resolve("two-layers.yaml"), """
                vocab-size: 50257
                context-length: 32
                hidden-size: 16
                layers: 2
                heads: 2
                attention: [[[global, local], 1]]
                window-size: 4
                seed: 7
                """);
    }

    /** Writes {@code dir/tiny-gpt2-vocab.yaml} and returns it. */
    static Path modelFile(Path dir) {
        return writeModel(dir.resolve("tiny-gpt2-vocab.yaml"), """
                vocab-size: 50257
                context-length: 32
                hidden-size: 16
                layers: 1
                heads: 2
                attention: [[[global], 1]]
                seed: 7
                """);
    }

    private static Path writeModel(Path file, String yaml) {
        try {
            return Files.writeString(file, yaml);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The regular files under {@code root}, as paths relative to it, sorted: what a run wrote. */
    static List<String> files(Path root) throws IOException {
        try (Stream<Path> all = Files.walk(root)) {
            return all.filter(Files::isRegularFile).map(p -> root.relativize(p).toString()).sorted().toList();
        }
    }

    /** Writes {@code lines} lines of twelve words drawn (seeded) from a small vocabulary: about 800 tokens for 60 lines. */
    static Path text(Path file, int lines, long seed) {
        Random random = new Random(seed);
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < lines; i++) {
            for (int w = 0; w < 12; w++) {
                text.append(w == 0 ? "" : " ").append(WORDS[random.nextInt(WORDS.length)]);
            }
            text.append('\n');
        }
        try {
            return Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The rows of {@code OUT/metrics.jsonl}. */
    static List<JsonNode> metrics(Path out) {
        try {
            return Files.readAllLines(out.resolve("metrics.jsonl")).stream().map(TrainFixtures::json).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode json(String line) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The one JSON line a successful perplexity run prints. */
    static JsonNode perplexity(String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "perplexity";
        System.arraycopy(args, 0, all, 1, args.length);
        Cli r = Cli.run(all);
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out().lines().toList()).hasSize(1);
        JsonNode row = json(r.out().strip());
        assertThat(row.get("perplexity").asDouble()).isFinite().isGreaterThan(1);
        return row;
    }
}
