package org.gptneo.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code trainer_state.json} of a checkpoint: the step reached, the data position and the settings
 * (the seed among them: dropout masks and the data order derive from the seed and the step alone,
 * so nothing else of the random state needs saving).
 *
 * @param step             optimizer steps done
 * @param sequencesSeen    training sequences handed out so far (the data position)
 */
record TrainerState(int step, long sequencesSeen, TrainerSettings settings) {
    static final String FILE = "trainer_state.json";
    private static final String FORMAT = "gptneo-trainer-state/1";
    private static final ObjectMapper JSON = new ObjectMapper();

    void write(Path dir) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("global_step", step);
        root.put("sequences_seen", sequencesSeen);
        ObjectNode s = root.putObject("settings");
        s.put("steps", settings.steps());
        s.put("batch_size", settings.batchSize());
        s.put("seq_len", settings.seqLen());
        s.put("accumulate", settings.accumulate());
        s.put("learning_rate", settings.learningRate());
        s.put("warmup", settings.warmup());
        s.put("schedule", settings.schedule().name().toLowerCase(java.util.Locale.ROOT));
        s.put("lr_floor", settings.lrFloor());
        s.put("weight_decay", settings.weightDecay());
        s.put("beta1", settings.beta1());
        s.put("beta2", settings.beta2());
        s.put("eps", settings.eps());
        s.put("grad_clip", settings.gradClip());
        s.put("seed", settings.seed());
        s.put("shuffle", settings.shuffle());
        s.put("validation_split", settings.validationSplit());
        Files.writeString(dir.resolve(FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n");
    }

    static TrainerState read(Path dir) {
        Path file = dir.resolve(FILE);
        try {
            JsonNode root = JSON.readTree(file.toFile());
            if (root == null || !FORMAT.equals(root.path("format").asText())) {
                throw new IllegalArgumentException(file + " is not a trainer state of this library (format "
                        + root.path("format") + ", expected \"" + FORMAT + "\")");
            }
            JsonNode s = root.path("settings");
            TrainerSettings settings = new TrainerSettings(
                    need(s, "steps", file).asInt(), need(s, "batch_size", file).asInt(), need(s, "seq_len", file).asInt(),
                    need(s, "accumulate", file).asInt(), need(s, "learning_rate", file).asDouble(),
                    need(s, "warmup", file).asInt(),
                    Schedule.valueOf(need(s, "schedule", file).asText().toUpperCase(java.util.Locale.ROOT)),
                    need(s, "lr_floor", file).asDouble(), need(s, "weight_decay", file).asDouble(),
                    need(s, "beta1", file).asDouble(), need(s, "beta2", file).asDouble(), need(s, "eps", file).asDouble(),
                    need(s, "grad_clip", file).asDouble(), need(s, "seed", file).asLong(), need(s, "shuffle", file).asBoolean(),
                    need(s, "validation_split", file).asDouble());
            return new TrainerState(need(root, "global_step", file).asInt(), need(root, "sequences_seen", file).asLong(), settings);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static JsonNode need(JsonNode node, String key, Path file) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) throw new IllegalArgumentException(file + " lacks \"" + key + "\"");
        return v;
    }
}
