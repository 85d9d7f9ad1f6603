package org.gptneo.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.gptneo.GptNeo;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.ModelOutput;
import org.gptneo.model.TrainingPass;
import org.gptneo.nn.FeedForward;
import org.gptneo.nn.Mlp;
import org.gptneo.nn.Parameter;
import org.gptneo.nn.Pass;
import org.gptneo.nn.RoutingStats;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer trains what layers add to the loss and logs what they report: a feed-forward layer
 * (block 1) that reports an auxiliary loss (0.5·mean of its input squared) and fixed routing statistics.
 */
class TrainerRoutingTest {
    private static final float COEFFICIENT = 0.5f;

    /** GPT-Neo's MLP that also reports an auxiliary loss and routing statistics, like a mixture of experts. */
    record Reporting(Mlp mlp, int layer) implements FeedForward {
        @Override
        public Var forward(Pass pass, Var x) {
            Tape tape = pass.tape();
            int n = x.value().dim(0), c = x.value().dim(1);
            Var flat = tape.reshape(x, 1, n * c);                                      // [1, N·C]
            Var squares = tape.matmul(flat, false, flat, true);                        // [1, 1]
            pass.auxiliary().addLoss(tape.reshape(tape.scale(squares, COEFFICIENT / (n * c)), 1));
            pass.auxiliary().addRouting(new RoutingStats(layer, new int[] {n - 1, 0, 1}, n + 2, 2, 0.25));
            return mlp.forward(pass, x);
        }

        @Override
        public List<Parameter> parameters() {
            return mlp.parameters();
        }
    }

    private static GptNeoModel model() {
        return GptNeo.builder().vocabSize(64).contextLength(32).hiddenSize(16).layers(2).heads(2)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(4).dropout(0.1f).seed(5)
                .feedForward(spec -> spec.layer() == 1 ? new Reporting(spec.standard(), 1) : spec.standard())
                .build(new CpuBackend(2)).closingBackend();
    }

    @Test
    void theLossTrainedIncludesTheAuxiliaryLossAndEachRowLogsTheRouting(@TempDir Path out) throws Exception {
        int b = 2, t = 8;
        double lm, aux;
        try (GptNeoModel model = model(); Arena host = Arena.ofConfined()) {
            Backend backend = model.backend();
            int[] ids = new int[b * t];
            ArrayTokens.patterned(400, 64, 1).read(0, ids, 0, ids.length);
            try (Tape tape = new Tape(backend, false)) {
                Tensor input = backend.upload(Tensor.ofInts(host, ids, b, t), host);
                ModelOutput output = model.run(tape, input, new TrainingPass(Trainer.dropoutSeed(9, 0, 0), false));
                lm = backend.download(model.loss(tape, output.logits(), input).value(), host).getFloat(0);
                aux = backend.download(output.auxLoss().value(), host).getFloat(0);
            }
        }
        assertThat(aux).isPositive();
        try (GptNeoModel model = model()) {
            Trainer.builder().model(model).data(ArrayTokens.patterned(400, 64, 1)).seqLen(t).batchSize(b).accumulate(1)
                    .steps(2).shuffle(false).seed(9).outputDir(out).build().fit();
        }
        List<String> lines = Files.readAllLines(out.resolve(MetricsLog.FILE));
        JsonNode first = new ObjectMapper().readTree(lines.getFirst());
        assertThat(first.get("loss").asDouble()).isCloseTo(lm + aux, within(1e-5));
        assertThat(first.get("aux_loss").asDouble()).isCloseTo(aux, within(1e-6));
        assertThat(first.get("moe_drop_rate").toString()).isEqualTo("{\"1\":" + 2.0 / (b * t + 2) + "}");
        assertThat(first.get("moe_tokens_per_expert").toString()).isEqualTo("{\"1\":[" + (b * t - 1) + ",0,1]}");
        assertThat(first.properties()).extracting(java.util.Map.Entry::getKey)
                .containsExactly("step", "loss", "lr", "grad_norm", "tokens_per_s", "aux_loss", "moe_drop_rate", "moe_tokens_per_expert");
    }

    @Test
    void aMixtureOfExpertsModelLogsItsLayersRouting(@TempDir Path out) throws Exception {
        int b = 2, t = 8, accumulate = 2;
        try (GptNeoModel model = GptNeo.builder().vocabSize(64).contextLength(32).hiddenSize(16).layers(2).heads(2)
                .attention(AttentionType.GLOBAL).experts(4).topK(2).capacityFactor(0.5f).seed(5)
                .build(new CpuBackend(2)).closingBackend()) {
            Trainer.builder().model(model).data(ArrayTokens.patterned(400, 64, 1)).seqLen(t).batchSize(b).accumulate(accumulate)
                    .steps(2).seed(9).outputDir(out).build().fit();
        }
        for (String line : Files.readAllLines(out.resolve(MetricsLog.FILE))) {
            JsonNode row = new ObjectMapper().readTree(line);
            assertThat(row.get("aux_loss").asDouble()).isPositive().isLessThan(row.get("loss").asDouble());
            assertThat(row.get("moe_drop_rate").properties()).extracting(java.util.Map.Entry::getKey).containsExactly("1");
            double dropRate = row.get("moe_drop_rate").get("1").asDouble();
            assertThat(dropRate).as("capacity 0.5 cannot hold every assignment").isGreaterThan(0).isLessThan(1);
            JsonNode tokens = row.get("moe_tokens_per_expert").get("1");
            assertThat(tokens).hasSize(4);
            int kept = 0;
            for (JsonNode n : tokens) kept += n.asInt();
            // the micro-batches' B·T tokens pick 2 experts each (policy "random" may drop second choices first)
            assertThat(kept).isLessThanOrEqualTo(accumulate * b * t * 2).isPositive();
        }
    }

    @Test
    void microBatchesOfAStepAddTheirCountsAndAverageTheirLosses() {
        RoutingMetrics.Sum sum = new RoutingMetrics.Sum();
        sum.add(0.2, List.of(new RoutingStats(3, new int[] {4, 1}, 6, 1, 1.0), new RoutingStats(1, new int[] {2, 2}, 4, 0, 2.0)));
        sum.add(0.4, List.of(new RoutingStats(3, new int[] {1, 5}, 6, 3, 3.0), new RoutingStats(1, new int[] {0, 4}, 4, 0, 4.0)));
        RoutingMetrics m = sum.result().orElseThrow();
        assertThat(m.auxLoss()).isCloseTo(0.3, within(1e-12));
        assertThat(m.layers()).extracting(RoutingStats::layer).containsExactly(1, 3);
        RoutingStats three = m.layers().get(1);
        assertThat(three.tokensPerExpert()).containsExactly(5, 6);
        assertThat(three.dropRate()).isEqualTo(4 / 12.0);
        assertThat(three.auxLoss()).isEqualTo(2.0);
        assertThat(new RoutingMetrics.Sum().result()).isEmpty();
    }
}
