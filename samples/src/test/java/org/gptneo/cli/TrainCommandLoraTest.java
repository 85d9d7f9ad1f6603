package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.gptneo.GptNeo;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.io.SafeTensorsFile;
import org.gptneo.model.GptNeoModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gptneo train --lora-rank}: trains an adapter on a model folder without tokenizer files, and
 * the adapter it writes is used by generate, logits and perplexity through {@code --adapter}.
 */
class TrainCommandLoraTest {
    @TempDir
    static Path dir;
    static Path base, data, out;
    static Cli run;

    @BeforeAll
    static void trainAnAdapter() {
        base = dir.resolve("base");
        try (GptNeoModel model = GptNeo.fromConfigFile(TrainFixtures.modelFile(dir)).build()) {
            HfCheckpoint.save(model, base);                       // config.json + model.safetensors, no tokenizer files
        }
        data = TrainFixtures.text(dir.resolve("data.txt"), 60, 3);
        out = dir.resolve("adapter");
        // a high rate for a few steps: the adapter moves the model far enough to see
        run = Cli.run("train", "--model", base.toString(), "--data", data.toString(), "--steps", "3", "--batch-size", "2",
                "--seq-len", "16", "--lr", "5e-2", "--schedule", "constant", "--lora-rank", "4", "--lora-alpha", "16",
                "--lora-targets", "q_proj,v_proj,c_fc", "--out", out.toString());
    }

    @Test
    void writesTheAdapterNotTheModel() throws Exception {
        assertThat(run.exitCode()).as(run.err()).isZero();
        for (String file : List.of("adapter_config.json", "adapter_model.safetensors", "metrics.jsonl", "vocab.json", "merges.txt",
                "loss.png")) {
            assertThat(out.resolve(file)).as(file).isRegularFile();
        }
        assertThat(out.resolve("model.safetensors")).doesNotExist();
        assertThat(run.errLines()).contains("training 576 of 808,464 parameters (LoRA rank 4, alpha 16, on q_proj, v_proj, c_fc)"
                + " for 3 steps");
        JsonNode config = TrainFixtures.json(Files.readString(out.resolve("adapter_config.json")));
        assertThat(config.get("peft_type").asText()).isEqualTo("LORA");
        assertThat(config.get("r").asInt()).isEqualTo(4);
        assertThat(config.get("lora_alpha").asDouble()).isEqualTo(16);
        assertThat(config.get("target_modules")).extracting(JsonNode::asText).containsExactlyInAnyOrder("q_proj", "v_proj", "c_fc");
        try (SafeTensorsFile weights = SafeTensorsFile.open(out.resolve("adapter_model.safetensors"))) {
            assertThat(weights.names()).hasSize(6).allMatch(n -> n.startsWith("base_model.model.") && n.contains(".lora_"));
        }
        assertThat(TrainFixtures.metrics(out)).hasSize(3);
    }

    @Test
    void perplexityWithTheAdapterIsLower() {
        String[] common = {"--model", base.toString(), "--data", data.toString(), "--seq-len", "16"};
        double without = TrainFixtures.perplexity(common).get("perplexity").asDouble();
        double with = TrainFixtures.perplexity(append(common, "--adapter", out.toString())).get("perplexity").asDouble();
        assertThat(with).isLessThan(without);
    }

    @Test
    void generateTakesTheAdapter() {
        Cli r = Cli.run("generate", "--model", base.toString(), "--adapter", out.toString(), "--prompt", "the quick brown",
                "--max-new-tokens", "3", "--json");
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode row = TrainFixtures.json(r.out().strip());
        assertThat(row.get("ids")).hasSizeBetween(1, 3);
    }

    @Test
    void logitsTakeTheAdapterAndDifferWithIt() {
        Path with = dir.resolve("with.safetensors"), without = dir.resolve("without.safetensors");
        String ids = "464,2068,7586,21831,18045,625";                // "The quick brown fox jumps over"
        Cli a = Cli.run("logits", "--model", base.toString(), "--adapter", out.toString(), "--ids", ids, "--out", with.toString());
        Cli b = Cli.run("logits", "--model", base.toString(), "--ids", ids, "--out", without.toString());
        assertThat(a.exitCode()).as(a.err()).isZero();
        assertThat(b.exitCode()).as(b.err()).isZero();
        try (SafeTensorsFile x = SafeTensorsFile.open(with); SafeTensorsFile y = SafeTensorsFile.open(without)) {
            assertThat(x.tensor("logits").toFloatArray()).isNotEqualTo(y.tensor("logits").toFloatArray());
            assertThat(x.tensor("loss").getFloat(0)).isLessThan(y.tensor("loss").getFloat(0));
        }
    }

    @Test
    void aMissingAdapterFolderIsOneLine() {
        Path missing = dir.resolve("no-adapter");
        Cli r = Cli.run("perplexity", "--model", base.toString(), "--adapter", missing.toString(), "--data", data.toString(),
                "--seq-len", "16");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.errLines()).singleElement().asString().startsWith("gptneo: ").contains(missing.toString());
    }

    private static String[] append(String[] args, String... more) {
        String[] all = Arrays.copyOf(args, args.length + more.length);
        System.arraycopy(more, 0, all, args.length, more.length);
        return all;
    }
}
