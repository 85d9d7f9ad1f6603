package org.gptneo.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.nn.MoeSettings;
import org.junit.jupiter.api.Test;

/** The builder's variant settings: defaults, the parameter count of each variant, and impossible settings. */
class VariantBuilderTest {

    private static GptNeoBuilder small() {
        return GptNeoBuilder.create().vocabSize(30).contextLength(12).hiddenSize(8).layers(4).heads(2).windowSize(3);
    }

    @Test
    void expertsDefaultToEveryOtherLayer() {
        assertThat(small().experts(4).config().moe().layers()).containsExactly(1, 3);
        assertThat(small().layers(1).attention(AttentionType.GLOBAL).experts(4).config().moe().layers()).containsExactly(0);
        assertThat(small().config().moe()).isEqualTo(MoeSettings.NONE);
    }

    @Test
    void theParameterCountOfEachVariantIsWhatTheLayersAllocate() {
        GptNeoBuilder[] variants = {
            small().positions(PositionEmbedding.ROTARY),
            small().positions(PositionEmbedding.AXIAL, 3, 4).attention(AttentionType.GLOBAL, AttentionType.NONE),
            small().objective(Objective.MASKED_LM).maskTokenId(29),
            small().attention(AttentionType.LINEAR, AttentionType.LOCAL),
            small().experts(3).topK(1),
            small().experts(5).expertLayers(0, 2, 3),
        };
        try (CpuBackend backend = new CpuBackend()) {
            for (GptNeoBuilder b : variants) {
                GptNeoConfig c = b.config();
                try (GptNeoModel model = b.build(backend)) {
                    assertThat(model.parameterCount()).as(c.positions() + " " + c.attentionLayers()).isEqualTo(c.parameterCount());
                    assertThat(model.registry().names()).allSatisfy(n -> assertThat(GptNeoModel.parameterShapes(c)).containsKey(n));
                }
            }
        }
        GptNeoConfig plain = small().config(), rotary = small().positions(PositionEmbedding.ROTARY).config();
        assertThat(plain.parameterCount() - rotary.parameterCount()).isEqualTo(12L * 8);   // no wpe
    }

    @Test
    void impossibleVariantsAreRefusedNamingTheField() {
        assertThatThrownBy(() -> small().positions(PositionEmbedding.AXIAL, 3, 3).config())
                .hasMessage("axial shape [3, 3] does not match contextLength (12): a1·a2 must equal it");
        assertThatThrownBy(() -> small().positions(PositionEmbedding.AXIAL))
                .hasMessage("axial positions need their shape: positions(AXIAL, a1, a2) with a1·a2 = contextLength");
        assertThatThrownBy(() -> small().hiddenSize(6).heads(2).positions(PositionEmbedding.ROTARY).config())
                .hasMessage("rotary positions need an even head size, got 3");
        assertThatThrownBy(() -> small().experts(1).config()).hasMessage("topK (2) is more than experts (1)");
        assertThatThrownBy(() -> small().experts(4).topK(3).config()).hasMessage("topK must be 1 or 2, got 3");
        assertThatThrownBy(() -> small().experts(4).expertLayers(1, 1).config()).hasMessage("expertLayers ([1, 1]) names a layer twice");
        assertThatThrownBy(() -> small().experts(4).expertLayers(4).config())
                .hasMessage("expertLayers names layer 4, outside the model's layers 0..3");
        assertThatThrownBy(() -> small().experts(4).capacityFactor(0).config())
                .hasMessage("capacityFactor (0.0) and evalCapacityFactor (2.0) must be > 0");
        assertThatThrownBy(() -> small().objective(Objective.MASKED_LM).config())
                .hasMessage("a masked-LM model needs maskTokenId (the id of its mask token)");
        assertThatThrownBy(() -> small().objective(Objective.MASKED_LM).maskTokenId(30).config())
                .hasMessage("maskTokenId (30) is outside the vocabulary [0, 30)");
        assertThatThrownBy(() -> small().maskReplacement(0.6f, 0.5f).config())
                .hasMessage("sameTokenProbability (0.6) and randomTokenProbability (0.5) must be ≥ 0 with a sum ≤ 1");
    }
}
