package org.gptneo.train;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.io.HfConfig;
import org.gptneo.io.SafeTensorsFile;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Ten Trainer steps against tools/reference/make_trainer_golden.py: torch.optim.AdamW with
 * Hugging Face's decay groups, its cosine-with-floor warm-up schedule, (loss / K) accumulation and
 * clip_grad_norm_, all in float64. Losses, learning rates, pre-clip gradient norms and every final
 * parameter must agree.
 */
class TrainerParityTest {

    @Test
    void tenStepsMatchTorchWithScheduleClippingAndAccumulation() throws Exception {
        Path path = Path.of(getClass().getResource("/golden/trainer_steps.safetensors").toURI());
        try (SafeTensorsFile golden = SafeTensorsFile.open(path); Arena host = Arena.ofShared()) {
            ObjectMapper json = new ObjectMapper();
            GptNeoConfig config = HfConfig.fromJson(json.readTree(golden.metadata().get("config")));
            JsonNode s = json.readTree(golden.metadata().get("trainer"));
            Tensor sequences = golden.tensor("sequences");                          // [N, T]
            int[] flat = new int[Math.toIntExact(sequences.size())];
            for (int i = 0; i < flat.length; i++) flat[i] = sequences.getInt(i);
            List<StepMetrics> steps = new ArrayList<>();
            try (CpuBackend backend = new CpuBackend(2);
                 GptNeoModel model = GptNeoModel.create(config, backend, (name, zeroed) -> zeroed.copyFrom(golden.tensor("param." + name)))) {
                Trainer trainer = Trainer.builder().model(model)
                        .data(ArrayTokens.rows(flat, s.get("seq_len").asInt())).shuffle(false)
                        .steps(s.get("steps").asInt()).batchSize(s.get("batch_size").asInt()).accumulate(s.get("accumulate").asInt())
                        .learningRate(s.get("learning_rate").asDouble()).warmup(s.get("warmup").asInt())
                        .schedule(Schedule.COSINE).learningRateFloor(s.get("lr_floor").asDouble())
                        .weightDecay(s.get("weight_decay").asDouble())
                        .adam(s.get("beta1").asDouble(), s.get("beta2").asDouble(), s.get("eps").asDouble())
                        .gradClip(s.get("grad_clip").asDouble())
                        .listener(new TrainerListener() {
                            @Override public void onStep(StepMetrics m) { steps.add(m); }
                        })
                        .build();
                TrainingResult result = trainer.fit();
                assertThat(result.status()).isEqualTo(TrainingResult.Status.COMPLETED);
                assertThat(steps).hasSize(10);
                for (int i = 0; i < steps.size(); i++) {
                    StepMetrics m = steps.get(i);
                    assertThat(m.step()).isEqualTo(i + 1);
                    assertThat(m.loss()).as("loss of step %d", i + 1).isCloseTo(golden.tensor("losses").getFloat(i), within(1e-4 * 5));
                    assertThat(m.learningRate()).as("lr of step %d", i + 1).isCloseTo(golden.tensor("lrs").getFloat(i), within(1e-9));
                    assertThat(m.gradNorm()).as("grad norm of step %d", i + 1).isCloseTo(golden.tensor("grad_norms").getFloat(i), within(1e-4 * 4));
                }
                model.parameters().forEach((name, p) -> assertThat(
                        relativeError(backend.download(p.value(), host), golden.tensor("final." + name)))
                        .as("%s after 10 steps", name).isLessThan(5e-4));
            }
        }
    }

    private static org.assertj.core.data.Offset<Double> within(double d) {
        return org.assertj.core.data.Offset.offset(d);
    }

    private static double relativeError(Tensor actual, Tensor expected) {
        double maxDiff = 0, maxRef = 0;
        for (long i = 0; i < expected.size(); i++) {
            maxDiff = Math.max(maxDiff, Math.abs(actual.getFloat(i) - expected.getFloat(i)));
            maxRef = Math.max(maxRef, Math.abs(expected.getFloat(i)));
        }
        return maxDiff / Math.max(maxRef, 1e-12);
    }
}
