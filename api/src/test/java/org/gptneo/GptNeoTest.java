package org.gptneo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.tensor.Tensor;
import org.gptneo.io.LoadOptions;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoModel;
import org.gptneo.nn.AdamW;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GptNeoTest {
    @TempDir
    Path dir;

    @Test
    void presetsAreBuildersAndCountsNeedNoAllocation() {
        assertThat(GptNeo.preset("2.7B").config().parameterCount()).isEqualTo(2_651_307_520L);
        assertThat(GptNeo.preset("175B").config().hiddenSize()).isEqualTo(12288);
        assertThat(GptNeo.preset("1.3B").layers(12).config().layers()).isEqualTo(12);
    }

    @Test
    void loadIsZeroCopyForInferenceAndWritableForTraining() {
        try (GptNeoModel model = GptNeo.builder().vocabSize(50).contextLength(8).hiddenSize(8).layers(2).heads(2)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(2).build()) {
            HfCheckpoint.save(model, dir);
        }
        try (GptNeoModel inference = GptNeo.load(dir)) {
            assertThat(inference.parameters().get("transformer.wte.weight").value().data().isReadOnly()).isTrue();
            assertThatThrownBy(() -> new AdamW(inference.backend(), inference.parameters(), AdamW.Settings.defaults()))
                    .hasMessageContaining("read-only").hasMessageContaining("LoadOptions.training()");
        }
        try (GptNeoModel trainable = GptNeo.load(dir, LoadOptions.training());
             AdamW optimizer = new AdamW(trainable.backend(), trainable.parameters(), AdamW.Settings.defaults())) {
            assertThat(optimizer.stepCount()).isZero();
        }
        assertThat(GptNeo.tokenizer(dir).encode("Hello world")).containsExactly(15496, 995);
    }

    /** The README's training example, verbatim apart from the folder and a smaller vocabulary. */
    @Test
    void theReadmeTrainingExampleRuns() {
        float first, last;
        try (GptNeoModel model = GptNeo.builder()
                .vocabSize(1000).contextLength(256)
                .hiddenSize(256).layers(4).heads(8)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(64)
                .dropout(0.1f).seed(42)
                .build();
             AdamW optimizer = new AdamW(model.backend(), model.parameters(), AdamW.Settings.defaults());
             Arena arena = Arena.ofShared()) {
            Tensor ids = Tensor.ofInts(arena, new int[] {464, 318, 257, 922, 3, 999}, 1, 6);
            float[] losses = new float[10];
            for (int step = 0; step < 10; step++) {
                try (Tape tape = new Tape(model.backend(), true)) {
                    model.zeroGrad();
                    Var logits = model.forward(tape, ids, true);
                    Var loss = model.loss(tape, logits, ids);
                    tape.backward(loss);
                    optimizer.step();
                    losses[step] = loss.value().getFloat(0);
                }
            }
            first = losses[0];
            last = losses[9];
            HfCheckpoint.save(model, dir.resolve("my-model"));
        }
        assertThat(last).isLessThan(first);
        assertThat(dir.resolve("my-model/model.safetensors")).exists();
    }
}
