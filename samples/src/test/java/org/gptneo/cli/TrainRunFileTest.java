package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code gptneo train --run FILE}: run files in this library's sections and in GPT-NeoX's format, merged, printed and refused. */
class TrainRunFileTest {
    private static final YAMLMapper YAML = new YAMLMapper();

    @TempDir
    static Path dir;
    static Path data;

    @BeforeAll
    static void corpus() {
        data = TrainFixtures.text(dir.resolve("data.txt"), 60, 1);
    }

    /** A usage error (exit 2): the message naming the file and key, then where to look for help. */
    private static void assertUsageError(Cli r, String fragment) {
        assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
        assertThat(r.errLines()).hasSize(2).last().isEqualTo("see gptneo train --help");
        assertThat(r.errLines().getFirst()).startsWith("gptneo: ").contains(fragment);
        assertThat(r.out()).isEmpty();
    }

    private static Path write(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    /** A run file with the tiny model inline, the data, 2 steps and an output folder. */
    private static Path base(String out) throws IOException {
        return write("base-" + out + ".yml", """
                model:
                  vocab-size: 50257
                  context-length: 32
                  hidden-size: 16
                  layers: 1
                  heads: 2
                  attention: [[[global], 1]]
                  seed: 7
                data:
                  path: %s
                  seq_len: 16
                optimizer:
                  lr: 1e-2
                  beta2: 0.95
                schedule:
                  steps: 2
                  kind: constant
                training:
                  batch-size: 2
                checkpointing:
                  out: %s
                """.formatted(data, dir.resolve(out)));
    }

    private static JsonNode printed(String... args) throws IOException {
        String[] all = new String[args.length + 2];
        all[0] = "train";
        System.arraycopy(args, 0, all, 1, args.length);
        all[all.length - 1] = "--print-config";
        Cli r = Cli.run(all);
        assertThat(r.exitCode()).as(r.err()).isZero();
        return YAML.readTree(r.out());
    }

    @Test
    void laterFilesWinAndFlagsWinOverFiles() throws IOException {
        Path more = write("more.yml", "schedule:\n  steps: 7\noptimizer:\n  lr: 3e-3\n");
        JsonNode merged = printed("--run", base("a").toString(), "--run", more.toString(), "--lr", "5e-4");
        assertThat(merged.at("/schedule/steps").asInt()).isEqualTo(7);                 // the later file
        assertThat(merged.at("/optimizer/lr").asDouble()).isEqualTo(5e-4);            // the flag, given before nothing
        assertThat(merged.at("/optimizer/beta2").asDouble()).isEqualTo(0.95);         // the first file, untouched later
        assertThat(merged.at("/model/hidden-size").asInt()).isEqualTo(16);
        assertThat(merged.at("/data/path").asText()).isEqualTo(data.toString());
    }

    @Test
    void printedSettingsReadBackAsTheSameRunFile() throws IOException {
        Cli first = Cli.run("train", "--run", base("b").toString(), "--print-config");
        Path printed = write("printed.yml", first.out());
        Cli second = Cli.run("train", "--run", printed.toString(), "--print-config");
        assertThat(second.exitCode()).as(second.err()).isZero();
        assertThat(second.out()).isEqualTo(first.out());
    }

    @Test
    void aRunFileTrainsExactlyAsTheFlagsItStandsFor() throws IOException {
        Cli fromFile = Cli.run("train", "--run", base("c").toString());
        assertThat(fromFile.exitCode()).as(fromFile.err()).isZero();
        Path model = write("tiny.yaml", """
                vocab-size: 50257
                context-length: 32
                hidden-size: 16
                layers: 1
                heads: 2
                attention: [[[global], 1]]
                seed: 7
                """);
        Cli fromFlags = Cli.run("train", "--config", model.toString(), "--data", data.toString(), "--seq-len", "16", "--lr", "1e-2",
                "--adam-beta2", "0.95", "--steps", "2", "--schedule", "constant", "--batch-size", "2", "--out", dir.resolve("d").toString());
        assertThat(fromFlags.exitCode()).as(fromFlags.err()).isZero();
        List<JsonNode> a = TrainFixtures.metrics(dir.resolve("c")), b = TrainFixtures.metrics(dir.resolve("d"));
        assertThat(a).hasSize(2);
        for (int i = 0; i < a.size(); i++) {
            assertThat(a.get(i).get("loss").asDouble()).as("step %d", i + 1).isEqualTo(b.get(i).get("loss").asDouble());
        }
    }

    @Test
    void gptNeoxFilesMapTheirTrainingAndModelKeys() throws IOException {
        Path neox = write("neox.yml", """
                # a GPT-NeoX style config (flat keys, - or _)
                {
                   "num_layers": 2,
                   "hidden-size": 32,
                   "num_attention_heads": 4,
                   "seq_length": 16,
                   "max_position_embeddings": 64,
                   "norm": "layernorm",
                   "pos_emb": "rotary",
                   "gpt_j_residual": false,
                   "attention_config": [[["flash", "local"], 1]],
                   "optimizer": {
                     "type": "Adam",
                     "params": { "lr": 0.0006, "betas": [0.9, 0.95], "eps": 1.0e-8, }
                   },
                   "min_lr": 0.00006,
                   "train_micro_batch_size_per_gpu": 4,
                   "gradient_accumulation_steps": 2,
                   "gradient_clipping": 1.0,
                   "weight_decay": 0.1,
                   "hidden_dropout": 0.0,
                   "attention_dropout": 0.0,
                   "fp16": { "enabled": True },
                   "train_iters": 200,
                   "lr_decay_iters": 200,
                   "lr_decay_style": "cosine",
                   "warmup": 0.01,
                   "checkpoint_factor": 50,
                   "eval_interval": 100,
                   "eval_iters": 10,
                   "log_interval": 5,
                   "split": "949,50,1",
                   "data-path": "%s",
                   "save": "%s",
                   "wall_clock_breakdown": true,
                }
                """.formatted(data, dir.resolve("neox-out")));
        Cli r = Cli.run("train", "--run", neox.toString(), "--print-config");
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode c = YAML.readTree(r.out());
        assertThat(c.at("/model/layers").asInt()).isEqualTo(2);
        assertThat(c.at("/model/hidden-size").asInt()).isEqualTo(32);
        assertThat(c.at("/model/heads").asInt()).isEqualTo(4);
        assertThat(c.at("/model/context-length").asInt()).isEqualTo(64);
        assertThat(c.at("/model/position-embedding").asText()).isEqualTo("rotary");
        assertThat(c.at("/model/attention").toString()).isEqualTo("[[[\"global\",\"local\"],1]]");
        assertThat(c.at("/schedule/steps").asInt()).isEqualTo(200);
        assertThat(c.at("/schedule/warmup").asInt()).isEqualTo(2);                        // 0.01 of train_iters
        assertThat(c.at("/schedule/kind").asText()).isEqualTo("cosine");
        assertThat(c.at("/schedule/lr-floor").asDouble()).isCloseTo(0.1, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(c.at("/optimizer/lr").asDouble()).isEqualTo(6e-4);
        assertThat(c.at("/optimizer/beta2").asDouble()).isEqualTo(0.95);
        assertThat(c.at("/optimizer/weight-decay").asDouble()).isEqualTo(0.1);
        assertThat(c.at("/training/batch-size").asInt()).isEqualTo(4);                   // micro-batch 4 × dp 1
        assertThat(c.at("/training/accumulate").asInt()).isEqualTo(2);
        assertThat(c.at("/training/eval-every").asInt()).isEqualTo(100);
        assertThat(c.at("/data/seq-len").asInt()).isEqualTo(16);
        assertThat(c.at("/data/validation-split").asDouble()).isEqualTo(0.05);
        assertThat(c.at("/checkpointing/every").asInt()).isEqualTo(50);
        assertThat(c.at("/checkpointing/out").asText()).isEqualTo(dir.resolve("neox-out").toString());
    }

    @Test
    void theReadmeRunFileReadsAsItSays() throws IOException {
        List<String> readme = Files.readAllLines(Path.of("..", "README.md"));
        int section = 0;
        while (!readme.get(section).startsWith("**Run files.**")) section++;
        int start = readme.subList(section, readme.size()).indexOf("```yaml") + section + 1, end = start;
        while (!readme.get(end).startsWith("```")) end++;
        Path file = write("readme.yml", String.join("\n", readme.subList(start, end)) + "\n");
        JsonNode c = printed("--run", file.toString());
        assertThat(c.at("/model/preset").asText()).isEqualTo("125M");
        assertThat(c.at("/optimizer/beta2").asDouble()).isEqualTo(0.95);
        assertThat(c.at("/schedule/kind").asText()).isEqualTo("cosine");
        assertThat(c.at("/parallel/dp").asInt()).isEqualTo(2);
        assertThat(c.at("/parallel/zero").asInt()).isEqualTo(1);
        assertThat(c.at("/checkpointing/keep").asInt()).isEqualTo(3);
    }

    @Test
    void gptNeoxParallelKeysMakeTheLayout() throws IOException {
        Path neox = write("neox-parallel.yml", """
                num_layers: 2
                pipe-parallel-size: 2
                model-parallel-size: 1
                zero_optimization: {stage: 1, reduce_bucket_size: 500000000, overlap_comm: false}
                train_micro_batch_size_per_gpu: 3
                """);
        Cli r = Cli.run("train", "--run", neox.toString(), "--preset", "125M", "--data", data.toString(), "--steps", "1",
                "--out", dir.resolve("np").toString(), "--print-config");
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode c = YAML.readTree(r.out());
        assertThat(c.at("/parallel/tp").asInt()).isEqualTo(1);
        assertThat(c.at("/parallel/pp").asInt()).isEqualTo(2);
        assertThat(c.at("/parallel/zero").asInt()).isEqualTo(1);
        assertThat(c.at("/training/batch-size").asInt()).isEqualTo(3);          // micro-batch 3 × dp 1
        assertThat(c.at("/model/preset").asText()).isEqualTo("125M");           // the flag's model over the file's keys
        assertThat(c.at("/parallel/overlap-reduction").asBoolean(true)).isFalse();              // DeepSpeed's overlap_comm
        assertThat(r.err()).contains("zero_optimization's bucket and buffer settings");
    }

    @Test
    void gptNeoxDeepSpeedMixtureOfExpertsKeysMakeGptNeoExperts() throws IOException {
        Path neox = write("neox-moe.yml", """
                num_layers: 4
                num_experts: 4
                expert_interval: 2
                moe_top_k: 2
                moe_use_residual: false
                moe_loss_coeff: 0.1
                moe_train_capacity_factor: 1.5
                moe_eval_capacity_factor: 2.0
                moe_min_capacity: 4
                moe_expert_parallel_size: 2
                create_moe_param_group: true
                """);
        Cli r = Cli.run("train", "--run", neox.toString(), "--data", data.toString(), "--steps", "1",
                "--out", dir.resolve("moe").toString(), "--print-config");
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode c = YAML.readTree(r.out());
        assertThat(c.at("/model/moe-num-experts").asInt()).isEqualTo(4);
        assertThat(c.at("/model/moe-layers").toString()).isEqualTo("[0,2]");           // layer_number % 2 == 0
        assertThat(c.at("/model/moe-top-k").asInt()).isEqualTo(2);
        assertThat(c.at("/model/moe-second-policy").asText()).isEqualTo("all");
        assertThat(c.at("/model/moe-aux-loss-coef").asDouble()).isEqualTo(0.1);
        assertThat(c.at("/model/moe-capacity-factor").asDouble()).isEqualTo(1.5);
        assertThat(c.at("/model/moe-eval-capacity-factor").asDouble()).isEqualTo(2.0);
        assertThat(c.at("/model/moe-min-capacity").asInt()).isEqualTo(4);
        assertThat(c.at("/parallel/ep").asInt()).isEqualTo(2);
        assertThat(r.err()).contains("num_experts: experts routed by GPT-Neo's top-2 gating").contains("create_moe_param_group");
    }

    @Test
    void aGptNeoxMegablocksMixtureOfExpertsFileTrains() throws IOException {
        Path neox = write("neox-dmoe.yml", """
                {
                  "num_layers": 2, "hidden_size": 16, "num_attention_heads": 2, "max_position_embeddings": 32,
                  "moe_num_experts": 2, "moe_router_type": "topk", "moe_lbl_in_fp32": true,
                  "seq_length": 16, "train_micro_batch_size_per_gpu": 2, "train_iters": 1,
                  "optimizer": {"type": "Adam", "params": {"lr": 0.001}},
                  "data_path": "%s", "save": "%s"
                }
                """.formatted(data, dir.resolve("dmoe-out")));
        JsonNode c = printed("--run", neox.toString());
        assertThat(c.at("/model/moe-layers").toString()).isEqualTo("[0,1]");          // megablocks' interval 1
        assertThat(c.at("/model/moe-top-k").asInt()).isEqualTo(1);
        Cli r = Cli.run("train", "--run", neox.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(dir.resolve("dmoe-out").resolve("config.json")).content().contains("\"moe_num_experts\" : 2");
    }

    @Test
    void gptNeoxMixtureOfExpertsSettingsGptNeoLacksAreRefusedByName() throws IOException {
        for (String[] c : new String[][] {
            {"num_experts: 2", "'moe_use_residual' is true (DeepSpeed's default when absent)"},
            {"moe_num_experts: 2", "'moe_router_type' is 'sinkhorn' (GPT-NeoX's default when absent)"},
            {"moe_num_experts: 2\nmoe_router_type: topk\nmoe_jitter_eps: 0.01", "'moe_jitter_eps' is 0.01"},
            {"moe_num_experts: 2\nmoe_router_type: topk\nmoe_top_k: 4", "'moe_top_k' is 4"},
            {"num_experts: 2\nmoe_use_residual: false\nmoe_token_dropping: false", "'moe_token_dropping' is false"},
            {"num_experts: 2\nmoe_num_experts: 2", "'moe_num_experts' and 'num_experts' are both given"}}) {
            Path file = write("refused-moe.yml", "num_layers: 2\n" + c[0] + "\n");
            assertUsageError(Cli.run("train", "--run", file.toString(), "--print-config"), "refused-moe.yml: GPT-NeoX key " + c[1]);
        }
    }

    @Test
    void keysWithoutAGptNeoEquivalentAreRefusedByName() throws IOException {
        for (String[] c : new String[][] {
            {"gpt_j_residual: true", "'gpt_j_residual' is true"},
            {"norm: rmsnorm", "'norm' is 'rmsnorm'"},
            {"pos_emb: alibi", "'pos_emb' is 'alibi'"},
            {"lr_decay_style: exponential", "'lr_decay_style' is 'exponential'"},
            {"rotary_ndims: 16", "'rotary_ndims' is not a GPT-NeoX key"}}) {
            Path file = write("refused.yml", "num_layers: 2\n" + c[0] + "\n");
            assertUsageError(Cli.run("train", "--run", file.toString(), "--print-config"), "refused.yml: GPT-NeoX key " + c[1]);
        }
    }

    @Test
    void unknownSectionsKeysAndMissingModelsAreOneLineErrors() throws IOException {
        assertUsageError(Cli.run("train", "--run", write("s.yml", "optimiser:\n  lr: 1\n").toString(), "--print-config"),
                "s.yml: unknown section 'optimiser'");
        assertUsageError(Cli.run("train", "--run", write("k.yml", "optimizer:\n  momentum: 1\n").toString(), "--print-config"),
                "s.yml: unknown key 'optimizer.momentum'".replace("s.yml", "k.yml"));
        assertUsageError(Cli.run("train", "--run", write("two.yml", "model:\n  preset: 125M\n  layers: 2\n").toString(),
                "--print-config"), "two.yml: the model section names more than one model");
        assertUsageError(Cli.run("train", "--run", write("none.yml", "schedule:\n  steps: 2\n").toString(), "--data",
                data.toString(), "--out", dir.resolve("x").toString()), "no model: give --model, --preset or --config");
        assertUsageError(Cli.run("train", "--run", dir.resolve("missing.yml").toString(), "--print-config"), "no such run file");
    }
}
