package org.gptneo.train;

import java.lang.foreign.Arena;
import java.util.Arrays;
import org.gptneo.autograd.Tape;
import org.gptneo.backend.Backend;
import org.gptneo.data.MaskedLmMasking;
import org.gptneo.data.TokenSource;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.Objective;
import org.gptneo.tensor.Tensor;

/**
 * Sliding-window perplexity exactly as Hugging Face's perplexity guide computes it: windows of
 * {@code maxLength} tokens starting every {@code stride} tokens; in each window only the tokens not
 * scored by the previous window are targets (the rest are labelled −100 and serve as context);
 * the window's mean loss counts for (targets − 1) tokens, the guide's correction for the label
 * shift; perplexity = exp(Σ loss·count / Σ count).
 *
 * <p>A masked-LM model is scored on masked tokens instead (its pseudo-perplexity): the same windows,
 * each masked by {@link MaskedLmMasking#forModel} with the fixed seed
 * {@link MaskedLmMasking#evaluationSeed(long) evaluationSeed(begin / stride)}, where only the window's
 * targets may be masked (its context keeps its tokens); the window's mean loss counts for the
 * masked targets, with no shift correction, and {@code tokens} is the number of masked targets.
 */
public final class Perplexity {

    /** @param windows forward passes made; tokens = the guide's token count */
    public record Result(double perplexity, double meanNll, long tokens, int windows, int maxLength, int stride) {}

    private Perplexity() {}

    /**
     * Masks the targets (positions from {@code from} on) of one window in place: ids become the
     * model input, labels the masked targets' tokens (−100 elsewhere); returns the masked count.
     */
    private static int maskTargets(MaskedLmMasking masking, int[] ids, int[] labels, int from, long window) {
        int[] targets = Arrays.copyOfRange(ids, from, ids.length);
        Arrays.fill(labels, GptNeoModel.IGNORE_INDEX);
        if (Arrays.stream(targets).noneMatch(masking::isMaskable)) return 0;
        MaskedLmMasking.Batch masked = masking.apply(targets, 1, MaskedLmMasking.evaluationSeed(window));
        System.arraycopy(masked.inputs(), 0, ids, from, targets.length);
        System.arraycopy(masked.labels(), 0, labels, from, targets.length);
        return masked.labelled();
    }

    public static Result slidingWindow(GptNeoModel model, TokenSource tokens, int maxLength, int stride) {
        if (maxLength < 2 || maxLength > model.config().contextLength()) {
            throw new IllegalArgumentException("the window must be in [2, " + model.config().contextLength() + "] tokens, got " + maxLength);
        }
        if (stride < 1 || stride > maxLength) {
            throw new IllegalArgumentException("the stride must be in [1, " + maxLength + "], got " + stride);
        }
        long length = tokens.length();
        if (length < 2) throw new IllegalArgumentException(tokens.description() + ": perplexity needs at least 2 tokens");
        Backend backend = model.backend();
        MaskedLmMasking masking = model.config().objective() == Objective.MASKED_LM ? MaskedLmMasking.forModel(model.config()) : null;
        double nllSum = 0;
        long counted = 0;
        int windows = 0;
        long previousEnd = 0;
        for (long begin = 0; begin < length; begin += stride) {
            long end = Math.min(begin + maxLength, length);
            int t = (int) (end - begin);
            int targets = (int) (end - previousEnd);
            int[] ids = new int[t];                                                 // [1, t]
            tokens.read(begin, ids, 0, t);
            int[] labels = ids.clone();
            for (int i = 0; i < t - targets; i++) labels[i] = GptNeoModel.IGNORE_INDEX;
            int lossTokens = targets - 1;
            if (masking != null) {
                lossTokens = maskTargets(masking, ids, labels, t - targets, begin / stride);
            }
            if (masking == null ? t >= 2 : lossTokens > 0) {
                try (Tape tape = new Tape(backend, false); Arena host = Arena.ofConfined()) {
                    Tensor input = backend.upload(Tensor.ofInts(host, ids, 1, t), host);
                    Tensor target = backend.upload(Tensor.ofInts(host, labels, 1, t), host);
                    double loss = backend.download(model.loss(tape, model.forward(tape, input, false), target).value(), host).getFloat(0);
                    if (lossTokens > 0) {
                        nllSum += loss * lossTokens;
                        counted += lossTokens;
                    }
                    windows++;
                }
            }
            previousEnd = end;
            if (end == length) break;
        }
        if (counted == 0) throw new IllegalArgumentException(tokens.description() + ": too few tokens to score");
        double mean = nllSum / counted;
        return new Result(Math.exp(mean), mean, counted, windows, maxLength, stride);
    }
}
