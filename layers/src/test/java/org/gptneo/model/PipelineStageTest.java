package org.gptneo.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.backend.conformance.ReferenceBackend;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link PipelineStage}s of layers [0, 1), [1, 3) and [3, 4), chained on one thread (each stage's
 * output copied into the next one's {@link Var#input}, each input gradient pushed back with
 * {@link Tape#backward(Var, Tensor)}), compute the full model's training loss and gradients bit for
 * bit, with every position embedding and with activation checkpointing. The tied embedding's
 * gradient is split between the first stage (lookup) and the last (head): their sum matches.
 */
class PipelineStageTest {
    private static final int[] IDS = {5, 9, 2, 7, 1, 4, 8, 3, 30, 12, 0, 17, 6, 22};   // B = 2, T = 7
    private static final String WTE = "transformer.wte.weight";
    private final Backend backend = new ReferenceBackend();
    private final Arena arena = Arena.ofShared();

    @AfterEach
    void free() {
        arena.close();
    }

    private static GptNeoBuilder tiny() {
        return GptNeoBuilder.create().vocabSize(32).contextLength(16).hiddenSize(8).layers(4).heads(2)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(3).dropout(0.2f)
                .initializerRange(0.5f).seed(3);
    }

    /** The loss and every gradient by name (the tied embedding's as the stages' sum), as floats. */
    private record Result(float loss, Map<String, float[]> gradients) {}

    private Result whole(GptNeoBuilder builder, TrainingPass pass) {
        try (GptNeoModel model = builder.build(backend); Tape tape = new Tape(backend, true)) {
            Tensor ids = Tensor.ofInts(arena, IDS, 2, IDS.length / 2);
            Var loss = model.loss(tape, model.forward(tape, ids, pass), ids);
            tape.backward(loss);
            Map<String, float[]> grads = new LinkedHashMap<>();
            model.parameters().forEach((name, p) -> grads.put(name, p.grad().toFloatArray()));
            return new Result(loss.value().getFloat(0), grads);
        }
    }

    private Result staged(GptNeoBuilder builder, TrainingPass pass) {
        int[][] ranges = {{0, 1}, {1, 3}, {3, 4}};
        List<PipelineStage> stages = new ArrayList<>();
        List<Tape> tapes = new ArrayList<>();
        try (GptNeoModel model = builder.build(backend)) {
            for (int[] r : ranges) stages.add(PipelineStage.of(model, r[0], r[1]));
        }
        try {
            Tensor ids = Tensor.ofInts(arena, IDS, 2, IDS.length / 2);
            List<Var> inputs = new ArrayList<>(), outputs = new ArrayList<>();
            Var loss = null;
            for (PipelineStage stage : stages) {
                Tape tape = new Tape(backend, true);
                tapes.add(tape);
                Var input = null;
                if (!stage.isFirst()) {
                    Tensor received = tape.allocate(outputs.getLast().shape());
                    backend.copy(outputs.getLast().value(), received);
                    input = Var.input(received);
                }
                inputs.add(input);
                outputs.add(stage.forward(tape, ids, input, pass));
                if (stage.isLast()) loss = stage.loss(tape, outputs.getLast(), ids);
            }
            tapes.getLast().backward(loss);
            for (int s = stages.size() - 2; s >= 0; s--) tapes.get(s).backward(outputs.get(s), inputs.get(s + 1).grad());
            Map<String, float[]> grads = new HashMap<>();
            for (PipelineStage stage : stages) {
                stage.registry().asVars().forEach((name, p) -> grads.merge(name, p.grad().toFloatArray(), PipelineStageTest::sum));
            }
            return new Result(loss.value().getFloat(0), grads);
        } finally {
            tapes.forEach(Tape::close);
            stages.forEach(PipelineStage::close);
        }
    }

    private static float[] sum(float[] a, float[] b) {
        float[] out = new float[a.length];
        for (int i = 0; i < a.length; i++) out[i] = a[i] + b[i];
        return out;
    }

    private void assertSame(GptNeoBuilder builder, TrainingPass pass) {
        Result whole = whole(builder, pass), staged = staged(builder, pass);
        assertThat(Float.floatToRawIntBits(staged.loss())).isEqualTo(Float.floatToRawIntBits(whole.loss()));
        assertThat(staged.gradients().keySet()).containsExactlyInAnyOrderElementsOf(whole.gradients().keySet());
        whole.gradients().forEach((name, g) -> {
            if (name.equals(WTE)) {
                assertThat(staged.gradients().get(name)).as(name).containsExactly(g, within(1e-6f));
            } else {
                assertThat(staged.gradients().get(name)).as(name).isEqualTo(g);
            }
        });
    }

    @Test
    void chainedStagesComputeTheModelsLossAndGradientsWithEveryPositionEmbedding() {
        assertSame(tiny(), new TrainingPass(42, false));
        assertSame(tiny().positions(PositionEmbedding.ROTARY), new TrainingPass(43, false));
        assertSame(tiny().positions(PositionEmbedding.AXIAL, 4, 4), new TrainingPass(44, false));
    }

    @Test
    void chainedStagesWithCheckpointedBlocksComputeTheSame() {
        assertSame(tiny(), new TrainingPass(45, true));
    }

    @Test
    void aStageHoldsOnlyItsPartAndCopiesFrozenFlags() {
        try (GptNeoModel model = tiny().build(backend)) {
            model.registry().freeze(name -> name.startsWith("transformer.h.1."));
            try (PipelineStage first = PipelineStage.of(model, 0, 2); PipelineStage middle = PipelineStage.of(model, 2, 3);
                 PipelineStage last = PipelineStage.of(model, 3, 4)) {
                assertThat(first.registry().names()).contains(WTE, "transformer.wpe.weight", "transformer.h.1.ln_2.bias")
                        .noneMatch(n -> n.startsWith("transformer.h.2.") || n.startsWith("transformer.ln_f."));
                assertThat(first.registry().get("transformer.h.1.ln_2.bias").isTrainable()).isFalse();
                assertThat(middle.registry().names()).allMatch(n -> n.startsWith("transformer.h.2."));
                assertThat(middle.tiedEmbedding()).isNull();
                assertThat(last.registry().names()).contains(WTE, "transformer.ln_f.weight").doesNotContain("transformer.wpe.weight");
                assertThat(last.tiedEmbedding().value().toFloatArray()).isEqualTo(first.tiedEmbedding().value().toFloatArray())
                        .isEqualTo(model.registry().get(WTE).value().toFloatArray());
                assertThat(last.tiedEmbedding().value()).isNotSameAs(first.tiedEmbedding().value());
            }
        }
    }

    @Test
    void unsupportedModelsAndRangesAreOneLineErrors() {
        try (GptNeoModel model = tiny().build(backend); GptNeoModel moe = tiny().experts(2).build(backend)) {
            assertThatThrownBy(() -> PipelineStage.of(model, 2, 5))
                    .hasMessage("a pipeline stage holds layers [from, to) with 0 <= from < to <= 4, got [2, 5)");
            assertThatThrownBy(() -> PipelineStage.of(moe, 0, 2)).hasMessageStartingWith("pipeline parallelism does not support mixture-of-experts");
            try (PipelineStage middle = PipelineStage.of(model, 1, 3); Tape tape = new Tape(backend, true)) {
                Tensor ids = Tensor.ofInts(arena, IDS, 2, IDS.length / 2);
                assertThatThrownBy(() -> middle.forward(tape, ids, null, new TrainingPass(1, false)))
                        .hasMessage("stage of layers [1, 3) needs the previous stage's output as input");
                assertThatThrownBy(() -> middle.forward(tape, ids, Var.input(tape.allocate(3, 8)), new TrainingPass(1, false)))
                        .hasMessageStartingWith("the stage's input must be [14, 8]");
                assertThatThrownBy(() -> middle.loss(tape, Var.input(tape.allocate(14, 8)), ids))
                        .hasMessageStartingWith("only the last stage computes the loss");
            }
        }
    }
}
