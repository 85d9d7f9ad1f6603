package org.gptneo.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import org.gptneo.autograd.Tape;
import org.gptneo.backend.Backend;
import org.gptneo.backend.conformance.ReferenceBackend;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Behaviour the golden files do not pin: masks, dropout, and bad input. */
class GptNeoModelTest {
    private final Backend backend = new ReferenceBackend();
    private final Arena arena = Arena.ofShared();

    @AfterEach
    void free() {
        arena.close();
    }

    private static GptNeoBuilder tiny() {
        return GptNeoBuilder.create().vocabSize(32).contextLength(12).hiddenSize(8).layers(1).heads(2)
                .initializerRange(0.5f).seed(3);
    }

    private float[] logits(GptNeoModel model, int[] ids, boolean training) {
        try (Tape tape = new Tape(backend, false)) {
            return model.forward(tape, Tensor.ofInts(arena, ids, 1, ids.length), training).value().toFloatArray();
        }
    }

    @Test
    void aLocalLayerSeesExactlyTheLastWindowTokens() {
        int window = 3, v = 32;
        try (GptNeoModel model = tiny().attention(AttentionType.LOCAL).windowSize(window).build(backend)) {
            int[] ids = {5, 9, 2, 7, 1, 4, 8, 3};
            int[] changed = ids.clone();
            changed[2] = 30; // position 2 is visible to queries 2, 3, 4 only
            float[] a = logits(model, ids, false), b = logits(model, changed, false);
            for (int t = 0; t < ids.length; t++) {
                boolean sees = t >= 2 && t < 2 + window;
                float diff = 0;
                for (int j = 0; j < v; j++) diff = Math.max(diff, Math.abs(a[t * v + j] - b[t * v + j]));
                assertThat(diff > 0).as("position %d depends on token 2", t).isEqualTo(sees);
            }
        }
    }

    @Test
    void aGlobalLayerIsCausal() {
        try (GptNeoModel model = tiny().attention(AttentionType.GLOBAL).build(backend)) {
            float[] a = logits(model, new int[] {1, 2, 3, 4}, false), b = logits(model, new int[] {1, 2, 3, 9}, false);
            for (int i = 0; i < 3 * 32; i++) {
                assertThat(a[i]).isEqualTo(b[i]);
            }
        }
    }

    @Test
    void dropoutOnlyInTrainingAndSeeded() {
        int[] ids = {1, 2, 3, 4, 5};
        float[] plain;
        try (GptNeoModel noDropout = tiny().attention(AttentionType.GLOBAL).build(backend)) {
            plain = logits(noDropout, ids, true);
        }
        try (GptNeoModel first = tiny().attention(AttentionType.GLOBAL).dropout(0.3f).build(backend);
             GptNeoModel second = tiny().attention(AttentionType.GLOBAL).dropout(0.3f).build(backend)) {
            assertThat(logits(first, ids, false)).containsExactly(plain);
            float[] train1 = logits(first, ids, true), train2 = logits(first, ids, true);
            assertThat(train1).isNotEqualTo(plain);
            assertThat(train2).as("fresh masks each call").isNotEqualTo(train1);
            assertThat(logits(second, ids, true)).as("same seed, same masks").containsExactly(train1);
        }
    }

    @Test
    void badInputGetsAClearMessage() {
        try (GptNeoModel model = tiny().attention(AttentionType.GLOBAL).build(backend); Tape tape = new Tape(backend, true)) {
            assertThatThrownBy(() -> model.forward(tape, Tensor.ofInts(arena, new int[] {1, 32}, 1, 2), false))
                    .hasMessage("token id 32 at [0, 1] is outside the vocabulary [0, 32)");
            assertThatThrownBy(() -> model.forward(tape, Tensor.ofInts(arena, new int[13], 1, 13), false))
                    .hasMessage("sequence of 13 tokens exceeds the context length 12");
            Tensor ids = Tensor.ofInts(arena, new int[] {1, 2, 3}, 1, 3);
            var logits = model.forward(tape, ids, false);
            assertThatThrownBy(() -> model.loss(tape, logits, Tensor.ofInts(arena, new int[] {1, -5, 3}, 1, 3)))
                    .hasMessageContaining("label -5 is outside the vocabulary");
        }
    }
}
