package org.gptneo.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.gptneo.GptNeo;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.MaskedLmSettings;
import org.gptneo.model.Objective;
import org.junit.jupiter.api.Test;

class MaskedLmMaskingTest {
    private static final int V = 1000, MASK = 999, EOS = 998;
    private static final int IGNORE = GptNeoModel.IGNORE_INDEX;

    private static MaskedLmMasking masking(float select, float same, float random) {
        return new MaskedLmMasking(new MaskedLmSettings(MASK, select, same, random), V, EOS);
    }

    /** Random ids in [0, 998): no mask token, no end-of-text. */
    private static int[] ids(int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = random.nextInt(EOS);
        return ids;
    }

    @Test
    void proportionsFollowTheSettings() {
        int rows = 200, t = 1000, n = rows * t;
        int[] ids = ids(n, 1);
        MaskedLmMasking.Batch batch = masking(0.15f, 0.10f, 0.10f).apply(ids, rows, 7);
        int selected = 0, masked = 0, kept = 0, changed = 0;
        for (int i = 0; i < n; i++) {
            if (batch.labels()[i] == IGNORE) continue;
            selected++;
            if (batch.inputs()[i] == MASK) masked++;
            else if (batch.inputs()[i] == ids[i]) kept++;
            else changed++;
        }
        // 5 standard deviations: sqrt(n·p(1−p)) / n ≈ 0.0011 for the selection share, ≈ 0.0025–0.0033 for the kinds
        assertThat(selected / (double) n).isCloseTo(0.15, within(0.0056));
        assertThat(masked / (double) selected).isCloseTo(0.80, within(0.0165));
        // a random replacement equals the token with probability 1/999: kept ≈ 0.10 + 0.10/999
        assertThat(kept / (double) selected).isCloseTo(0.10 + 0.10 / 999, within(0.0125));
        assertThat(changed / (double) selected).isCloseTo(0.10 - 0.10 / 999, within(0.0125));
    }

    @Test
    void randomReplacementsAreUniformOverTheVocabularyWithoutTheMaskToken() {
        int rows = 100, t = 2000, n = rows * t;
        int[] ids = new int[n];                        // all id 5: a replacement is visible unless it draws 5
        java.util.Arrays.fill(ids, 5);
        MaskedLmMasking.Batch batch = masking(1f, 0f, 1f).apply(ids, rows, 3);
        int[] counts = new int[V];
        for (int i = 0; i < n; i++) counts[batch.inputs()[i]]++;
        assertThat(counts[MASK]).isZero();
        int low = 0, high = 0;
        for (int id = 0; id < V - 1; id++) {
            if (id < 499) low += counts[id];
            else high += counts[id];
        }
        assertThat(low / (double) n).isCloseTo(499 / 999.0, within(0.006));   // 5σ of a half-split
        assertThat(high).isEqualTo(n - low);
        assertThat(counts[EOS]).as("a random id may be any id but the mask token").isPositive();
    }

    @Test
    void labelsHoldTheOriginalAtSelectedPositionsAndInputsAreUnchangedElsewhere() {
        int rows = 8, t = 64;
        int[] ids = ids(rows * t, 2);
        for (int i = 0; i < ids.length; i += 5) ids[i] = EOS;
        for (int i = 3; i < ids.length; i += 11) ids[i] = MASK;
        MaskedLmMasking.Batch batch = masking(0.3f, 0.1f, 0.1f).apply(ids, rows, 11);
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == EOS || ids[i] == MASK) {
                assertThat(batch.labels()[i]).as("unmaskable id at %d", i).isEqualTo(IGNORE);
            }
            if (batch.labels()[i] == IGNORE) {
                assertThat(batch.inputs()[i]).as("unselected %d", i).isEqualTo(ids[i]);
            } else {
                assertThat(batch.labels()[i]).isEqualTo(ids[i]);
            }
        }
        assertThat(batch.labelled()).isPositive();
    }

    @Test
    void theSameSeedGivesTheSameMasksAndAnotherSeedOthers() {
        int[] ids = ids(4 * 256, 3);
        MaskedLmMasking m = masking(0.15f, 0.1f, 0.1f);
        MaskedLmMasking.Batch a = m.apply(ids, 4, 42), b = m.apply(ids, 4, 42), c = m.apply(ids, 4, 43);
        assertThat(b.inputs()).containsExactly(a.inputs());
        assertThat(b.labels()).containsExactly(a.labels());
        assertThat(c.labels()).isNotEqualTo(a.labels());
        assertThat(MaskedLmMasking.evaluationSeed(0)).isEqualTo(MaskedLmMasking.evaluationSeed(0))
                .isNotEqualTo(MaskedLmMasking.evaluationSeed(1));
    }

    @Test
    void aRowWithoutSelectionGetsExactlyOneLabelAndARowWithoutMaskableTokensNone() {
        int rows = 50, t = 16;
        int[] ids = ids(rows * t, 4);
        for (int i = 0; i < t; i++) ids[i] = EOS;                       // row 0: nothing maskable
        ids[t + 2] = 17;
        for (int i = t; i < 2 * t; i++) if (i != t + 2) ids[i] = EOS;     // row 1: one maskable token
        MaskedLmMasking.Batch batch = masking(1e-6f, 0f, 0f).apply(ids, rows, 5);
        for (int r = 0; r < rows; r++) {
            int labelled = 0;
            for (int i = r * t; i < (r + 1) * t; i++) {
                if (batch.labels()[i] != IGNORE) {
                    labelled++;
                    assertThat(batch.inputs()[i]).isEqualTo(MASK);
                }
            }
            assertThat(labelled).as("row %d", r).isEqualTo(r == 0 ? 0 : 1);
        }
        assertThat(batch.labels()[t + 2]).isEqualTo(17);
    }

    @Test
    void badBatchesAreRefusedWithOneLine() {
        MaskedLmMasking m = masking(0.15f, 0.1f, 0.1f);
        assertThatThrownBy(() -> m.apply(new int[] {EOS, MASK, EOS, EOS}, 2, 1))
                .hasMessage("no token of the batch can be masked: every id is the mask token (999) or unmaskable {998, 999}");
        assertThatThrownBy(() -> m.apply(new int[] {1, 2, 1000, 3}, 2, 1))
                .hasMessage("token id 1000 at row 1, position 0 is outside the vocabulary [0, 1000)");
        assertThatThrownBy(() -> m.apply(new int[] {1, 2, 3}, 2, 1)).hasMessage("a batch of 3 ids cannot be 2 equal rows");
        assertThatThrownBy(() -> new MaskedLmMasking(MaskedLmSettings.DEFAULT, V))
                .hasMessage("the mask token id null is not in the vocabulary [0, 1000)");
    }

    @Test
    void forModelUsesTheModelsSettingsAndKeepsEndOfTextUnmasked() {
        GptNeoConfig mlm = GptNeo.builder().vocabSize(64).contextLength(8).hiddenSize(8).layers(1).heads(1).attention(org.gptneo.model.AttentionType.GLOBAL)
                .eosTokenId(10).bosTokenId(10).objective(Objective.MASKED_LM).maskTokenId(63).maskProbability(1f)
                .maskReplacement(0f, 0f).config();
        int[] ids = {10, 1, 2, 10, 3, 63, 4, 10};
        MaskedLmMasking.Batch batch = MaskedLmMasking.forModel(mlm).apply(ids, 1, 9);
        assertThat(batch.inputs()).containsExactly(10, 63, 63, 10, 63, 63, 63, 10);
        assertThat(batch.labels()).containsExactly(IGNORE, 1, 2, IGNORE, 3, IGNORE, 4, IGNORE);
        GptNeoConfig causal = mlm.toBuilder().objective(Objective.CAUSAL_LM).config();
        assertThatThrownBy(() -> MaskedLmMasking.forModel(causal))
                .hasMessage("masking is for masked-LM models; this model's objective is causal_lm");
    }
}
