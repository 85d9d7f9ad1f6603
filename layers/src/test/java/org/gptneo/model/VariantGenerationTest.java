package org.gptneo.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.gptneo.autograd.Tape;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Cached generation of each variant equals the full pass: prompts and steps of any size through
 * {@link GptNeoModel#forwardCached}, with rotary positions rotating cached keys by their own
 * positions, linear attention's running state, mixtures of experts, axial positions, and blocks
 * without attention (which keep no state).
 */
class VariantGenerationTest {
    private static final int VOCAB = 40, WINDOW = 4;

    private static GptNeoBuilder base() {
        return GptNeoBuilder.create().vocabSize(VOCAB).contextLength(48).hiddenSize(12).heads(3).windowSize(WINDOW)
                .initializerRange(0.3f).seed(13);
    }

    static Stream<Arguments> variants() {
        return Stream.of(
                Arguments.of("rotary", base().layers(2).attention(AttentionType.GLOBAL, AttentionType.LOCAL)
                        .positions(PositionEmbedding.ROTARY)),
                Arguments.of("linear + global, rotary", base().layers(2).attention(AttentionType.LINEAR, AttentionType.GLOBAL)
                        .positions(PositionEmbedding.ROTARY)),
                Arguments.of("linear + local", base().layers(2).attention(AttentionType.LOCAL, AttentionType.LINEAR)),
                // each step routes its own tokens as a group: with room for every token (factor = E) no assignment
                // is dropped, so steps and the full pass route alike
                Arguments.of("experts, top-2", base().layers(2).attention(AttentionType.GLOBAL, AttentionType.LOCAL)
                        .experts(4).evalCapacityFactor(4f)),
                Arguments.of("experts, top-1, every layer", base().layers(2).attention(AttentionType.GLOBAL, AttentionType.LOCAL)
                        .experts(3).topK(1).expertLayers(0, 1).evalCapacityFactor(3f)),
                Arguments.of("axial + none", base().layers(3).attention(AttentionType.LOCAL, AttentionType.NONE, AttentionType.GLOBAL)
                        .positions(PositionEmbedding.AXIAL, 6, 8)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void stepsOfAnySizeGiveTheFullPassLogits(String name, GptNeoBuilder builder) {
        int[] chunks = {5, 1, 1, 3, 1, 9, 1, 1};
        int total = Arrays.stream(chunks).sum();
        int[] seq = IntStream.range(0, total).map(i -> (i * 7 + 2) % VOCAB).toArray();
        try (CpuBackend backend = new CpuBackend();
             GptNeoModel model = builder.build(backend);
             KvCache cache = new KvCache(model, 1, null);
             Arena arena = Arena.ofConfined()) {
            float[] full;
            try (Tape tape = new Tape(backend, false)) {
                full = model.forward(tape, Tensor.ofInts(arena, seq, 1, total), false).value().toFloatArray();
            }
            int done = 0;
            for (int chunk : chunks) {
                int[] ids = Arrays.copyOfRange(seq, done, done + chunk);
                int[] positions = IntStream.range(done, done + chunk).toArray();
                try (Tape tape = new Tape(backend, false)) {
                    float[] logits = model.forwardCached(tape, Tensor.ofInts(arena, ids, 1, chunk),
                            Tensor.ofInts(arena, positions, 1, chunk), cache).toFloatArray();
                    int last = done + chunk - 1;
                    for (int v = 0; v < VOCAB; v++) {
                        assertThat(logits[v]).as("%s: token %d, logit %d", name, last, v).isCloseTo(full[last * VOCAB + v], within(1e-4f));
                    }
                }
                done += chunk;
            }
        }
    }

    @Test
    void aMaskedLmModelRefusesToGenerate() {
        try (CpuBackend backend = new CpuBackend();
             GptNeoModel model = base().layers(2).objective(Objective.MASKED_LM).maskTokenId(VOCAB - 1).build(backend)) {
            assertThatThrownBy(() -> new KvCache(model, 1, null)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("a masked-LM model does not generate left to right (it fills masks)");
        }
    }
}
