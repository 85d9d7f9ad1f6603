package org.gptneo.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.gptneo.model.AttentionType.GLOBAL;
import static org.gptneo.model.AttentionType.LOCAL;

import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class GptNeoBuilderTest {

    private static GptNeoBuilder tiny() {
        return GptNeoBuilder.create().vocabSize(64).contextLength(16).hiddenSize(8).layers(2).heads(2);
    }

    @Test
    void unsetFieldsTakeHuggingFaceDefaults() {
        GptNeoConfig c = GptNeoBuilder.create().config();
        assertThat(c.vocabSize()).isEqualTo(50257);
        assertThat(c.contextLength()).isEqualTo(2048);
        assertThat(c.hiddenSize()).isEqualTo(2048);
        assertThat(c.layers()).isEqualTo(24);
        assertThat(c.heads()).isEqualTo(16);
        assertThat(c.windowSize()).isEqualTo(256);
        assertThat(c.mlpWidth()).isEqualTo(4 * 2048);
        assertThat(c.activation()).isEqualTo(Activation.GELU_NEW);
        assertThat(c.layerNormEpsilon()).isEqualTo(1e-5f);
        assertThat(c.embedDropout()).isZero();
        assertThat(c.bosTokenId()).isEqualTo(50256);
        assertThat(c.eosTokenId()).isEqualTo(50256);
        assertThat(c.attentionTypes()).containsExactly(new AttentionPattern(List.of(GLOBAL, LOCAL), 12));
    }

    @Test
    void patternsRepeatOverTheLayersStartingWithTheFirstType() {
        GptNeoConfig c = tiny().layers(6).attention(GLOBAL, LOCAL).config();
        assertThat(c.attentionLayers()).containsExactly(GLOBAL, LOCAL, GLOBAL, LOCAL, GLOBAL, LOCAL);
        GptNeoConfig compressed = tiny().layers(5).attentionTypes(List.of(
                new AttentionPattern(List.of(LOCAL), 3), new AttentionPattern(List.of(GLOBAL), 2))).config();
        assertThat(compressed.attentionLayers()).containsExactly(LOCAL, LOCAL, LOCAL, GLOBAL, GLOBAL);
    }

    @Test
    void smallVocabulariesGetTheirLastIdAsEndOfText() {
        assertThat(tiny().config().eosTokenId()).isEqualTo(63);
    }

    @Test
    void tokenIdsOutsideTheVocabularyAreAllowedAsHuggingFaceWritesThem() {
        GptNeoConfig c = tiny().bosTokenId(50256).eosTokenId(50256).config();
        assertThat(c.vocabSize()).isEqualTo(64);
        assertThat(c.bosTokenId()).isEqualTo(50256);
        assertThat(c.eosTokenId()).isEqualTo(50256);
    }

    @Test
    void aConfigRoundTripsThroughItsBuilder() {
        GptNeoConfig c = tiny().intermediateSize(20).windowSize(3).dropout(0.1f).seed(9).config();
        assertThat(c.toBuilder().config()).isEqualTo(c);
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                Arguments.of((UnaryOperator<GptNeoBuilder>) b -> b.hiddenSize(10).heads(3), "hiddenSize (10) must be divisible by heads (3)"),
                Arguments.of((UnaryOperator<GptNeoBuilder>) b -> b.layers(3).attention(GLOBAL, LOCAL), "must divide layers (3)"),
                Arguments.of((UnaryOperator<GptNeoBuilder>) b -> b.windowSize(0), "windowSize must be ≥ 1"),
                Arguments.of((UnaryOperator<GptNeoBuilder>) b -> b.vocabSize(0), "vocabSize must be ≥ 1"),
                Arguments.of((UnaryOperator<GptNeoBuilder>) b -> b.hiddenSize(-8), "hiddenSize must be ≥ 1"),
                Arguments.of((UnaryOperator<GptNeoBuilder>) b -> b.layers(0), "layers must be ≥ 1"),
                Arguments.of((UnaryOperator<GptNeoBuilder>) b -> b.heads(0), "heads must be ≥ 1"),
                Arguments.of((UnaryOperator<GptNeoBuilder>) b -> b.contextLength(0), "contextLength must be ≥ 1"),
                Arguments.of((UnaryOperator<GptNeoBuilder>) b -> b.intermediateSize(0), "intermediateSize must be ≥ 1"),
                Arguments.of((UnaryOperator<GptNeoBuilder>) b -> b.activation("swish"), "activation 'swish' is not supported"),
                Arguments.of((UnaryOperator<GptNeoBuilder>) b -> b.residDropout(1f), "residDropout must be in [0, 1)"),
                Arguments.of((UnaryOperator<GptNeoBuilder>) b -> b.embedDropout(Float.NaN), "embedDropout must be in [0, 1)"),
                Arguments.of((UnaryOperator<GptNeoBuilder>) b -> b.layerNormEpsilon(0f), "layerNormEpsilon must be > 0"),
                Arguments.of((UnaryOperator<GptNeoBuilder>) b -> b.eosTokenId(-1), "eosTokenId must be ≥ 0, got -1"),
                Arguments.of((UnaryOperator<GptNeoBuilder>) b -> b.attention(), "attention needs at least one attention type"),
                Arguments.of((UnaryOperator<GptNeoBuilder>) b -> b.attentionTypes(List.of(new AttentionPattern(List.of(GLOBAL), 3))),
                        "attentionTypes expand to 3 layers but layers is 2"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("invalid")
    void invalidCombinationsFailAtBuildNamingTheFieldAndRule(UnaryOperator<GptNeoBuilder> change, String message) {
        assertThatThrownBy(() -> change.apply(tiny()).build())
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining(message);
    }

    @Test
    void parameterCountIsExactAndMatchesAllocation() {
        try (GptNeoModel model = tiny().intermediateSize(12).build(new org.gptneo.backend.conformance.ReferenceBackend())) {
            long d = 8, f = 12, v = 64, p = 16;
            long perLayer = 4 * d * d + d + 4 * d + 2 * d * f + f + d;
            assertThat(model.config().parameterCount()).isEqualTo((v + p) * d + 2 * perLayer + 2 * d);
            assertThat(model.parameterCount()).isEqualTo(model.config().parameterCount());
        }
    }
}
