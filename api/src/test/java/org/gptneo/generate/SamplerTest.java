package org.gptneo.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static final float[] LOGITS = {1.0f, 3.0f, 2.5f, -1.0f, 2.9f};

    @Test
    void greedyIsTheArgmax() {
        assertThat(new Sampler(GenerationConfig.greedy(1), 0).next(LOGITS, new int[0], 0)).isEqualTo(1);
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsAsHuggingFaceDoes() {
        GenerationConfig penalised = GenerationConfig.greedy(1).withRepetitionPenalty(1.5f);
        // token 1: 3.0 / 1.5 = 2.0 < 2.9 (token 4) → 4 wins
        assertThat(new Sampler(penalised, 0).next(LOGITS, new int[] {1, 1}, 2)).isEqualTo(4);
        float[] negative = {-1f, -1.2f};
        // token 0: -1 × 1.5 = -1.5 < -1.2 → 1 wins
        assertThat(new Sampler(penalised, 0).next(negative, new int[] {0}, 1)).isEqualTo(1);
    }

    @Test
    void topKAndTopPRestrictTheDraw() {
        Set<Integer> topTwo = new HashSet<>(), nucleus = new HashSet<>();
        Sampler k2 = new Sampler(GenerationConfig.sampling(1, 1f, 2, 1f, 1), 1);
        Sampler p = new Sampler(GenerationConfig.sampling(1, 1f, 0, 0.5f, 1), 1);
        for (int i = 0; i < 500; i++) {
            topTwo.add(k2.next(LOGITS, new int[0], 0));
            nucleus.add(p.next(LOGITS, new int[0], 0));
        }
        assertThat(topTwo).containsExactlyInAnyOrder(1, 4);
        // probabilities ∝ e^3.0, e^2.9, e^2.5, ...: token 1 alone has 0.37 < 0.5, with token 4 0.70 ≥ 0.5
        assertThat(nucleus).containsExactlyInAnyOrder(1, 4);
        assertThat(new Sampler(GenerationConfig.sampling(1, 1f, 1, 1f, 3), 3).next(LOGITS, new int[0], 0)).isEqualTo(1);
    }

    @Test
    void lowTemperatureConcentratesOnTheArgmax() {
        Sampler cold = new Sampler(GenerationConfig.sampling(1, 0.01f, 0, 1f, 2), 2);
        for (int i = 0; i < 100; i++) assertThat(cold.next(LOGITS, new int[0], 0)).isEqualTo(1);
    }

    @Test
    void invalidSettingsAreNamed() {
        assertThatThrownBy(() -> GenerationConfig.sampling(5, 0f, 0, 1f, 0)).hasMessageContaining("temperature must be > 0");
        assertThatThrownBy(() -> GenerationConfig.sampling(5, 1f, -1, 1f, 0)).hasMessageContaining("topK must be ≥ 0");
        assertThatThrownBy(() -> GenerationConfig.sampling(5, 1f, 0, 0f, 0)).hasMessageContaining("topP must be in (0, 1]");
        assertThatThrownBy(() -> GenerationConfig.greedy(-1)).hasMessageContaining("maxNewTokens must be ≥ 0");
        assertThatThrownBy(() -> GenerationConfig.greedy(1).withStopStrings(List.of(""))).hasMessageContaining("stop strings");
    }

    @Test
    void topKOrdersNegativeLogitsAndTiesCorrectly() {
        float[] logits = {-3f, -1f, -2f, -1f, -0f, 0f};
        Set<Integer> drawn = new HashSet<>();
        Sampler k3 = new Sampler(GenerationConfig.sampling(1, 1f, 3, 1f, 4), 4);
        for (int i = 0; i < 300; i++) drawn.add(k3.next(logits, new int[0], 0));
        // the top three are 0, -0 and the first -1 (id 1: the lower id wins the tie with id 3)
        assertThat(drawn).containsExactlyInAnyOrder(4, 5, 1);
    }
}
