package org.gptneo.data;

import java.util.Arrays;
import java.util.BitSet;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.MaskedLmSettings;
import org.gptneo.model.Objective;

/**
 * BERT-style masking of a batch for masked-LM training (spec section 11.7, its intended semantics):
 * each maskable token is selected with {@code maskProbability}; of the selected tokens a
 * {@code randomTokenProbability} share become a uniformly random id, a {@code sameTokenProbability}
 * share keep their token and the rest become the mask token. The labels hold the original token at
 * the selected positions and {@link GptNeoModel#IGNORE_INDEX} everywhere else, so the loss is taken
 * at the selected positions only.
 *
 * <p><b>Maskable</b> tokens are all ids but the mask token itself and the ids given as unmaskable
 * ({@link #forModel} uses the model's end-of-text and begin-of-text ids: document separators and
 * padding). <b>Random</b> ids are uniform over the vocabulary [0, V) without the mask token.
 *
 * <p><b>Never an empty row:</b> a row with maskable tokens whose draws select none gets exactly one
 * selection, the maskable position whose selection draw was smallest (the one closest to being
 * selected), replaced by the same rule; so no row's loss is empty, and a batch's loss is never NaN.
 * A row without any maskable token stays unlabelled; a batch without any is refused.
 *
 * <p><b>mesh-tf:</b> its {@code mlm_sample_text} as archived does the inverse of its own comment
 * (labels set to padding at the selected positions, the token kept elsewhere) and draws the random
 * replacement independently of the selection; this class implements the intended BERT semantics
 * instead, with the three probabilities of config.json ({@code mlm_mask_prob},
 * {@code mlm_same_token_prob}, {@code mlm_random_token_prob}).
 *
 * <p><b>Determinism:</b> every draw is a SplitMix64 hash of (seed, flat position, draw number): the
 * same ids and seed give the same result on any machine and thread count. The trainer seeds
 * micro-batch m of step s from (training seed, s, m); evaluation batch i uses
 * {@link #evaluationSeed(long) evaluationSeed(i)}, which depends on nothing else.
 */
public final class MaskedLmMasking {
    /** The base of the evaluation seeds: evaluation masks do not depend on the training seed. */
    public static final long EVALUATION_SEED = 0x6576616C5F6D6C6DL;   // "eval_mlm"

    private static final int DRAWS = 3;                                  // select, replacement kind, random id

    private final MaskedLmSettings settings;
    private final int maskId;
    private final int vocabSize;
    private final BitSet unmaskable = new BitSet();

    /**
     * @param settings      the probabilities and the mask token (which must be set and lie in the vocabulary)
     * @param vocabSize     V: ids of the batches lie in [0, V), random replacements too
     * @param unmaskableIds ids that are never selected (ids outside [0, V) are ignored)
     */
    public MaskedLmMasking(MaskedLmSettings settings, int vocabSize, int... unmaskableIds) {
        if (vocabSize < 2) {
            throw new IllegalArgumentException("masking needs a vocabulary of at least 2 ids, got " + vocabSize);
        }
        if (settings.maskTokenId() == null || settings.maskTokenId() < 0 || settings.maskTokenId() >= vocabSize) {
            throw new IllegalArgumentException("the mask token id " + settings.maskTokenId()
                    + " is not in the vocabulary [0, " + vocabSize + ")");
        }
        this.settings = settings;
        this.maskId = settings.maskTokenId();
        this.vocabSize = vocabSize;
        for (int id : unmaskableIds) {
            if (id >= 0 && id < vocabSize) unmaskable.set(id);
        }
        unmaskable.set(maskId);
    }

    /** The masking a masked-LM model trains with: its settings and vocabulary, end-of-text and begin-of-text unmaskable. */
    public static MaskedLmMasking forModel(GptNeoConfig config) {
        if (config.objective() != Objective.MASKED_LM) {
            throw new IllegalArgumentException("masking is for masked-LM models; this model's objective is "
                    + config.objective().configName());
        }
        return new MaskedLmMasking(config.maskedLm(), config.vocabSize(), config.eosTokenId(), config.bosTokenId());
    }

    /** Whether {@code id} may be selected: not the mask token, not an unmaskable id. */
    public boolean isMaskable(int id) {
        return !unmaskable.get(id);
    }

    /** The seed of evaluation batch {@code batch}: fixed, so evaluations of any run and step mask the same tokens. */
    public static long evaluationSeed(long batch) {
        return mix(EVALUATION_SEED + 0x9E3779B97F4A7C15L * (batch + 1));
    }

    /**
     * The model input and the labels of a batch.
     *
     * @param inputs [B, T]: the ids with the selected tokens replaced
     * @param labels [B, T]: the original id at each selected position, {@link GptNeoModel#IGNORE_INDEX} elsewhere
     */
    public record Batch(int[] inputs, int[] labels) {
        /** Positions that carry a label (the positions the loss is taken at). */
        public int labelled() {
            int n = 0;
            for (int label : labels) {
                if (label != GptNeoModel.IGNORE_INDEX) n++;
            }
            return n;
        }
    }

    /**
     * Masks {@code ids} [B, T] (row-major, {@code rows} rows) with the draws of {@code seed}.
     *
     * @throws IllegalArgumentException when an id lies outside the vocabulary, or no token of the batch is maskable
     */
    public Batch apply(int[] ids, int rows, long seed) {
        if (rows < 1 || ids.length % rows != 0 || ids.length == 0) {
            throw new IllegalArgumentException("a batch of " + ids.length + " ids cannot be " + rows + " equal rows");
        }
        int t = ids.length / rows;
        int[] inputs = ids.clone();
        int[] labels = new int[ids.length];
        Arrays.fill(labels, GptNeoModel.IGNORE_INDEX);
        boolean anyMaskable = false;
        for (int r = 0; r < rows; r++) {
            int nearest = -1;                         // the maskable position with the smallest selection draw
            double nearestDraw = 2;
            boolean selectedAny = false;
            for (int i = r * t; i < (r + 1) * t; i++) {
                int id = ids[i];
                if (id < 0 || id >= vocabSize) {
                    throw new IllegalArgumentException("token id " + id + " at row " + r + ", position " + (i - r * t)
                            + " is outside the vocabulary [0, " + vocabSize + ")");
                }
                if (unmaskable.get(id)) continue;
                double u = uniform(seed, i, 0);
                if (u < settings.maskProbability()) {
                    select(ids, i, seed, inputs, labels);
                    selectedAny = true;
                } else if (u < nearestDraw) {
                    nearest = i;
                    nearestDraw = u;
                }
            }
            if (!selectedAny && nearest >= 0) select(ids, nearest, seed, inputs, labels);
            anyMaskable |= selectedAny || nearest >= 0;
        }
        if (!anyMaskable) {
            throw new IllegalArgumentException("no token of the batch can be masked: every id is the mask token ("
                    + maskId + ") or unmaskable " + unmaskable);
        }
        return new Batch(inputs, labels);
    }

    /** Labels position i with its token and replaces the input by the mask token, a random id or itself. */
    private void select(int[] ids, int i, long seed, int[] inputs, int[] labels) {
        labels[i] = ids[i];
        double kind = uniform(seed, i, 1);
        if (kind < settings.randomTokenProbability()) {
            int r = (int) (uniform(seed, i, 2) * (vocabSize - 1));    // [0, V − 1), then skip the mask id
            inputs[i] = r >= maskId ? r + 1 : r;
        } else if (kind >= settings.randomTokenProbability() + settings.sameTokenProbability()) {
            inputs[i] = maskId;
        }
    }

    /** Draw {@code draw} of flat position {@code i}: uniform in [0, 1). */
    private static double uniform(long seed, long i, int draw) {
        return (mix(seed + 0x9E3779B97F4A7C15L * (i * DRAWS + draw + 1)) >>> 11) * 0x1.0p-53;
    }

    /** SplitMix64's finaliser. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
