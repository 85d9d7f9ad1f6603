package org.gptneo.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.gptneo.generate.GenerationConfig;
import org.gptneo.generate.Generator;
import org.gptneo.io.AdapterCheckpoint;
import org.gptneo.lora.LoRA;
import org.gptneo.lora.LoraAdapter;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a service relies on: NaN reports, activation checkpointing, LoRA runs, concurrent use. */
class TrainerBehaviourTest {

    @Test
    void aNonFiniteLossStopsTrainingNamingTheStep(@TempDir Path out) {
        try (GptNeoModel model = TinyRun.model(3)) {
            Tensor w = model.parameters().get("transformer.h.1.mlp.c_fc.weight").value();
            w.setFloat(5, Float.NaN);
            assertThatThrownBy(() -> TinyRun.trainer(model, out).build().fit())
                    .isInstanceOf(TrainingDivergedException.class)
                    .hasMessageStartingWith("training diverged at step 1: the loss is NaN");
        }
    }

    @Test
    void activationCheckpointingGivesTheSameCurveBitForBit(@TempDir Path plain, @TempDir Path recomputed) {
        try (GptNeoModel model = TinyRun.model(3)) {
            TinyRun.trainer(model, plain).build().fit();
        }
        try (GptNeoModel model = TinyRun.model(3)) {
            TinyRun.trainer(model, recomputed).activationCheckpointing(true).build().fit();
        }
        assertThat(TinyRun.curve(recomputed)).isEqualTo(TinyRun.curve(plain));
    }

    @Test
    void aLoraRunTrainsOnlyTheAdapterCheckpointsItInPeftLayoutAndResumesExactly(@TempDir Path whole, @TempDir Path cut) {
        List<String> expected;
        try (GptNeoModel model = TinyRun.model(3); LoraAdapter adapter = LoRA.rank(4).alpha(8).dropout(0.1f).apply(model)) {
            float before = model.parameters().get("transformer.h.0.attn.attention.q_proj.weight").value().getFloat(0);
            TinyRun.trainer(model, whole).adapter(adapter).build().fit();
            assertThat(model.parameters().get("transformer.h.0.attn.attention.q_proj.weight").value().getFloat(0)).isEqualTo(before);
            expected = TinyRun.curve(whole);
        }
        assertThat(whole.resolve("checkpoint-8").resolve(AdapterCheckpoint.CONFIG)).isRegularFile();
        assertThat(whole.resolve("checkpoint-8").resolve(AdapterCheckpoint.WEIGHTS)).isRegularFile();
        assertThat(whole.resolve("checkpoint-8").resolve("model.safetensors")).doesNotExist();
        try (GptNeoModel model = TinyRun.model(3); LoraAdapter adapter = LoRA.rank(4).apply(model)) {
            assertThatThrownBy(() -> org.gptneo.io.HfCheckpoint.save(model, whole.resolve("base")))
                    .hasMessageContaining("carries a LoRA adapter").hasMessageContaining("AdapterCheckpoint.save");
        }

        try (GptNeoModel model = TinyRun.model(3); LoraAdapter adapter = LoRA.rank(4).alpha(8).dropout(0.1f).apply(model)) {
            Trainer[] trainer = new Trainer[1];
            trainer[0] = TinyRun.trainer(model, cut).adapter(adapter).listener(new TrainerListener() {
                @Override public void onStep(StepMetrics m) { if (m.step() == 5) trainer[0].cancel(); }
            }).build();
            assertThat(trainer[0].fit().status()).isEqualTo(TrainingResult.Status.CANCELLED);
        }
        try (GptNeoModel model = TinyRun.model(3); LoraAdapter adapter = LoRA.rank(4).alpha(8).dropout(0.1f).seed(77).apply(model)) {
            TinyRun.trainer(model, cut).adapter(adapter).resume(true).build().fit();
        }
        assertThat(TinyRun.curve(cut)).isEqualTo(expected);
    }

    @Test
    void trainingOneModelWhileAnotherThreadGeneratesFromAnotherChangesNothingThere(@TempDir Path out) throws Exception {
        List<Integer> alone;
        try (GptNeoModel served = TinyRun.model(8)) {
            alone = generate(served);
        }
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (GptNeoModel served = TinyRun.model(8); GptNeoModel trained = TinyRun.model(3)) {
            Future<TrainingResult> training = pool.submit(() -> TinyRun.trainer(trained, out).build().fit());
            Future<List<List<Integer>>> serving = pool.submit(() -> List.of(generate(served), generate(served), generate(served)));
            assertThat(serving.get()).allSatisfy(ids -> assertThat(ids).isEqualTo(alone));
            assertThat(training.get().status()).isEqualTo(TrainingResult.Status.COMPLETED);
        } finally {
            pool.shutdownNow();
        }
    }

    private static List<Integer> generate(GptNeoModel model) {
        int[] ids = new Generator(model, org.gptneo.tokenizer.Gpt2Tokenizer.builtIn())
                .generate(new int[] {1, 2, 3}, GenerationConfig.greedy(12).withStopAtEos(false), org.gptneo.generate.TokenListener.NONE).ids();
        return java.util.Arrays.stream(ids).boxed().toList();
    }
}
