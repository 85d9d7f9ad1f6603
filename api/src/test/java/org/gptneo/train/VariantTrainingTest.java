package org.gptneo.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.gptneo.GptNeo;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.PositionEmbedding;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A short Trainer run of each causal variant learns a repeating motif: the mean loss of the last
 * five of 40 steps is well below that of the first five. Mixtures of experts train with their
 * training policy (second choice kept at random) and capacity factor, their aux loss included.
 */
class VariantTrainingTest {
    private static final int V = 64, T = 16;

    private static GptNeoBuilder tiny() {
        return GptNeo.builder().vocabSize(V).contextLength(32).hiddenSize(16).layers(2).heads(2).windowSize(4).seed(5);
    }

    static Stream<Arguments> variants() {
        return Stream.of(
                Arguments.of("rotary", tiny().attention(AttentionType.GLOBAL, AttentionType.LOCAL).positions(PositionEmbedding.ROTARY)),
                Arguments.of("axial + none", tiny().layers(3).attention(AttentionType.GLOBAL, AttentionType.NONE, AttentionType.LOCAL)
                        .positions(PositionEmbedding.AXIAL, 4, 8)),
                Arguments.of("linear + global", tiny().attention(AttentionType.LINEAR, AttentionType.GLOBAL)),
                Arguments.of("experts, top-2", tiny().attention(AttentionType.GLOBAL, AttentionType.LOCAL).experts(4)),
                Arguments.of("experts, top-1", tiny().attention(AttentionType.GLOBAL, AttentionType.LOCAL).experts(4).topK(1)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void fortyStepsLowerTheLoss(String name, GptNeoBuilder builder) {
        List<StepMetrics> steps = new ArrayList<>();
        try (GptNeoModel model = builder.build(new CpuBackend(2)).closingBackend()) {
            Trainer.builder().model(model).data(ArrayTokens.patterned(2000, V, 3)).seqLen(T).batchSize(4).steps(40)
                    .learningRate(1e-2).warmup(4).seed(11).listener(new TrainerListener() {
                        @Override
                        public void onStep(StepMetrics m) {
                            steps.add(m);
                        }
                    }).build().fit();
            if (!model.config().moe().isEmpty()) {
                assertThat(steps.getLast().routing()).as("routing statistics of %s", name).isNotEmpty();
            }
        }
        double first = steps.subList(0, 5).stream().mapToDouble(StepMetrics::loss).average().orElseThrow();
        double last = steps.subList(35, 40).stream().mapToDouble(StepMetrics::loss).average().orElseThrow();
        assertThat(last).as("%s: last five steps against the first five (%s)", name, first).isLessThan(first - 1.0);
    }
}
