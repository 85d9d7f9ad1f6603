package org.gptneo.parallel;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.PositionEmbedding;
import org.gptneo.nn.AdamW;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Tensor parallelism on 2 and 4 ranks (threads) against the single-device model, on a tiny GPT-Neo
 * (hidden 32, 4 heads, a global and a local layer, a vocabulary of 101, which no t divides, so the
 * padding is exercised; with a padding multiple of 128 the last ranks hold no real token at all).
 *
 * <p>Tolerance: the two runs compute the same sums in different orders (a row-parallel layer adds t
 * partial products, each over in/t features, where one device adds all in features at once; the
 * cross-entropy's row statistics travel as F32), so values agree to float rounding, not bit for bit.
 * Logits, loss, gradient norm and each gradient are compared relative to the tensor's largest element:
 * |Δ| ≤ 1e-5·max|x| (float32's epsilon is 1.2e-7; measured at most 1.4e-6 through three layers and the
 * backward pass). Parameters after AdamW steps are compared at the scale of a step instead: Adam
 * divides by √v + ε, so an element whose gradient is near zero turns its rounding difference into a
 * visible part of a step of size lr; |Δ| ≤ 1e-2·lr per step taken (measured 1e-3·lr). What must be
 * exact is: every rank's copy of a replicated parameter and its gradient, the logits and loss every
 * rank reports, and activation checkpointing against the plain run.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TensorParallelTest {
    private static final double TOLERANCE = 1e-5;
    private static final double STEP_TOLERANCE = 1e-2;

    static GptNeoBuilder tiny() {
        return GptNeoBuilder.create().vocabSize(101).contextLength(16).hiddenSize(32).heads(4).layers(2)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(3).dropout(0f).initializerRange(0.2f).seed(7);
    }

    @ParameterizedTest(name = "t = {0}, vocabulary padded to a multiple of {1}·t")
    @CsvSource({"2, 1", "4, 1", "2, 128", "4, 128"})
    void logitsLossAndEveryGradientEqualTheSingleDeviceModel(int ranks, int vocabMultiple) {
        GptNeoConfig config = tiny().config();
        TensorParallelRun.Step want = TensorParallelRun.singleDevice(config, TensorParallelRun.Settings.evaluation()).getFirst();
        List<List<TensorParallelRun.Step>> got = TensorParallelRun.tensorParallel(config,
                TensorParallelRun.Settings.evaluation(), ranks, vocabMultiple);
        for (List<TensorParallelRun.Step> rank : got) {
            assertStepClose(rank.getFirst(), want, 1, AdamW.Settings.defaults().lr());
        }
        assertRanksAgree(got);
    }

    @ParameterizedTest(name = "t = {0}")
    @ValueSource(ints = {2, 4})
    void adamWStepsKeepThemEqual(int ranks) {
        GptNeoConfig config = tiny().config();
        AdamW.Settings adam = AdamW.Settings.defaults().withLr(1e-2f);
        TensorParallelRun.Settings settings = new TensorParallelRun.Settings(false, false, 3, adam);
        List<TensorParallelRun.Step> want = TensorParallelRun.singleDevice(config, settings);
        List<List<TensorParallelRun.Step>> got = TensorParallelRun.tensorParallel(config, settings, ranks, 1);
        for (int s = 0; s < want.size(); s++) {
            assertStepClose(got.getFirst().get(s), want.get(s), s + 1, adam.lr());
        }
        assertThat(want.getLast().loss()).isLessThan(want.getFirst().loss());       // the steps did train
        assertRanksAgree(got);
    }

    /** With dropout on everywhere but on the attention probabilities, every mask is the single-device model's. */
    @Test
    void dropoutOnWholeActivationsDrawsTheSingleDeviceMasks() {
        GptNeoConfig config = tiny().embedDropout(0.1f).residDropout(0.1f).attentionDropout(0f).config();
        TensorParallelRun.Settings settings = new TensorParallelRun.Settings(true, false, 2, AdamW.Settings.defaults());
        List<TensorParallelRun.Step> want = TensorParallelRun.singleDevice(config, settings);
        List<TensorParallelRun.Step> noDropout = TensorParallelRun.singleDevice(tiny().config(), settings);
        assertThat(want.getFirst().loss()).isNotEqualTo(noDropout.getFirst().loss());   // the masks took effect
        List<List<TensorParallelRun.Step>> got = TensorParallelRun.tensorParallel(config, settings, 2, 1);
        for (int s = 0; s < want.size(); s++) {
            assertStepClose(got.getFirst().get(s), want.get(s), s + 1, settings.adam().lr());
        }
    }

    /** Recomputing each block in the backward pass runs its collectives again and changes no bit. */
    @Test
    void activationCheckpointingChangesNothing() {
        GptNeoConfig config = tiny().embedDropout(0.1f).residDropout(0.1f).attentionDropout(0.1f).config();
        AdamW.Settings adam = AdamW.Settings.defaults();
        List<List<TensorParallelRun.Step>> plain = TensorParallelRun.tensorParallel(config,
                new TensorParallelRun.Settings(true, false, 2, adam), 2, 1);
        List<List<TensorParallelRun.Step>> recomputed = TensorParallelRun.tensorParallel(config,
                new TensorParallelRun.Settings(true, true, 2, adam), 2, 1);
        for (int s = 0; s < 2; s++) {
            TensorParallelRun.Step a = plain.getFirst().get(s), b = recomputed.getFirst().get(s);
            assertThat(b.loss()).isEqualTo(a.loss());
            assertThat(b.logits()).containsExactly(a.logits());
            a.gradients().forEach((name, g) -> assertThat(b.gradients().get(name)).as(name).containsExactly(g));
        }
    }

    /** Rotary positions, linear attention and a block without attention split the same way. */
    @Test
    void variantsEqualTheSingleDeviceModel() {
        GptNeoConfig config = tiny().layers(3).attention(AttentionType.LINEAR, AttentionType.NONE, AttentionType.LOCAL)
                .positions(PositionEmbedding.ROTARY).config();
        TensorParallelRun.Step want = TensorParallelRun.singleDevice(config, TensorParallelRun.Settings.evaluation()).getFirst();
        List<List<TensorParallelRun.Step>> got = TensorParallelRun.tensorParallel(config,
                TensorParallelRun.Settings.evaluation(), 2, 1);
        assertStepClose(got.getFirst().getFirst(), want, 1, AdamW.Settings.defaults().lr());
    }

    /**
     * got equals want to float rounding; this is step {@code steps} of AdamW at rate {@code lr}. From the
     * second step on the parameters differ too (AdamW's normalized update turns a last-bit difference
     * of a gradient into as much as a hundredth of lr), so the bound grows with the steps.
     */
    private static void assertStepClose(TensorParallelRun.Step got, TensorParallelRun.Step want, int steps, float lr) {
        double tolerance = TOLERANCE * steps;
        assertClose("logits", got.logits(), want.logits(), tolerance);
        assertClose("loss", new float[] {got.loss()}, new float[] {want.loss()}, tolerance);
        assertThat(got.gradientNorm()).as("gradient norm").isCloseTo(want.gradientNorm(),
                org.assertj.core.data.Offset.offset(tolerance * want.gradientNorm()));
        assertThat(got.gradients().keySet()).containsExactlyElementsOf(want.gradients().keySet());
        want.gradients().forEach((name, g) -> assertClose("step " + steps + ": gradient of " + name, got.gradients().get(name), g,
                tolerance));
        want.parameters().forEach((name, p) -> assertWithin("updated " + name, got.parameters().get(name), p,
                STEP_TOLERANCE * lr * steps));
    }

    /** Every rank saw the same loss, logits, gradients and parameters, bit for bit (replicated ones are each rank's own copy). */
    private static void assertRanksAgree(List<List<TensorParallelRun.Step>> ranks) {
        for (List<TensorParallelRun.Step> rank : ranks.subList(1, ranks.size())) {
            for (int s = 0; s < rank.size(); s++) {
                TensorParallelRun.Step a = ranks.getFirst().get(s), b = rank.get(s);
                assertThat(b.loss()).isEqualTo(a.loss());
                assertThat(b.gradientNorm()).isEqualTo(a.gradientNorm());
                assertThat(b.logits()).containsExactly(a.logits());
                a.gradients().forEach((name, g) -> assertThat(b.gradients().get(name)).as(name).containsExactly(g));
                a.parameters().forEach((name, p) -> assertThat(b.parameters().get(name)).as(name).containsExactly(p));
            }
        }
    }

    /** |got − want| ≤ TOLERANCE·max|want| element by element. */
    static void assertClose(String what, float[] got, float[] want) {
        assertClose(what, got, want, TOLERANCE);
    }

    private static void assertClose(String what, float[] got, float[] want, double tolerance) {
        double scale = 0;
        for (float w : want) scale = Math.max(scale, Math.abs(w));
        assertWithin(what + " (largest element " + scale + ")", got, want, tolerance * scale);
    }

    private static void assertWithin(String what, float[] got, float[] want, double bound) {
        assertThat(got).as(what).hasSameSizeAs(want);
        double worst = 0;
        for (int i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
        assertThat(worst).as(what + ": largest difference").isLessThanOrEqualTo(bound);
    }
}
