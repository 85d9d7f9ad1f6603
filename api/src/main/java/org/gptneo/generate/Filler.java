package org.gptneo.generate;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.gptneo.autograd.Tape;
import org.gptneo.backend.Backend;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.Objective;
import org.gptneo.tensor.Tensor;
import org.gptneo.tokenizer.Gpt2Tokenizer;

/**
 * Fills in the {@code [MASK]}s of a text with a masked-LM model: one bidirectional forward pass
 * (no dropout) over the whole text, then at each mask position the model's distribution over the
 * vocabulary (softmax of the logits, in double). The tokenizer gets the model's mask token id as
 * its {@link Gpt2Tokenizer#MASK} ({@link Gpt2Tokenizer#withMaskToken(int)}).
 *
 * <p>Ranked candidates are the tokens the tokenizer can write, the mask token itself excluded
 * (probabilities stay those of the full softmax, so a mask's candidates may sum to less than 1).
 * Masks are filled independently, each from the same pass: a choice at one mask does not
 * condition another. Thread-safe: each call has its own memory.
 */
public final class Filler {
    private final GptNeoModel model;
    private final Gpt2Tokenizer tokenizer;
    private final int maskId;

    /** One candidate token for a mask: its id, its text (as decoded) and its probability. */
    public record Candidate(int id, String text, double probability) {}

    /**
     * @throws IllegalArgumentException for a causal model, or a tokenizer whose {@code [MASK]} has
     *     another id than the model's mask token (or whose that id is another token)
     */
    public Filler(GptNeoModel model, Gpt2Tokenizer tokenizer) {
        this.model = Objects.requireNonNull(model, "model");
        GptNeoConfig c = model.config();
        requireMaskedLm(c);
        this.maskId = c.maskedLm().maskTokenId();
        int has = Objects.requireNonNull(tokenizer, "tokenizer").maskTokenId().orElse(maskId);
        if (has != maskId) {
            throw new IllegalArgumentException("the tokenizer's " + Gpt2Tokenizer.MASK + " is id " + has
                    + " but the model's mask token is id " + maskId);
        }
        try {
            this.tokenizer = tokenizer.withMaskToken(maskId);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("the model's mask token id " + maskId + " does not fit the tokenizer: "
                    + e.getMessage(), e);
        }
    }

    /** Refuses a config that is not a masked-LM model's (checkable before any weights are loaded). */
    public static void requireMaskedLm(GptNeoConfig c) {
        if (c.objective() != Objective.MASKED_LM) {
            throw new IllegalArgumentException("filling in [MASK] needs a masked-LM model; this model's objective is "
                    + c.objective().configName() + " (it predicts the next token: use generate)");
        }
    }

    /** The tokenizer used, with the model's mask token. */
    public Gpt2Tokenizer tokenizer() {
        return tokenizer;
    }

    /**
     * The filled text and the candidates of each mask, from one pass.
     *
     * @param text       the text with each {@code [MASK]} replaced by its first candidate
     * @param candidates per {@code [MASK]}, in order, its most likely tokens, most likely first
     */
    public record Filled(String text, List<List<Candidate>> candidates) {
        public Filled {
            candidates = candidates.stream().map(List::copyOf).toList();
        }
    }

    /** The text with each {@code [MASK]} replaced by the model's most likely token there. */
    public String fill(String text) {
        return fill(text, 1).text();
    }

    /** For each {@code [MASK]} of the text, in order, its {@code k} most likely tokens, most likely first. */
    public List<List<Candidate>> candidates(String text, int k) {
        return fill(text, k).candidates();
    }

    /** {@link #fill(String)} and {@link #candidates(String, int)} from one forward pass. */
    public Filled fill(String text, int k) {
        if (k < 1) throw new IllegalArgumentException("the number of candidates must be at least 1, got " + k);
        int[] ids = encode(text);
        List<List<Candidate>> candidates = candidates(ids, k);
        int m = 0;
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == maskId) ids[i] = candidates.get(m++).getFirst().id();
        }
        return new Filled(tokenizer.decode(ids), candidates);
    }

    private int[] encode(String text) {
        int[] ids = tokenizer.encode(text);
        boolean any = false;
        for (int id : ids) any |= id == maskId;
        if (!any) throw new IllegalArgumentException("the text has no " + Gpt2Tokenizer.MASK + " to fill in");
        int context = model.config().contextLength();
        if (ids.length > context) {
            throw new IllegalArgumentException("the text is " + ids.length + " tokens, more than the model's context length "
                    + context);
        }
        int v = model.config().vocabSize();
        for (int id : ids) {
            if (id >= v) {
                throw new IllegalArgumentException("the text's token id " + id + " (" + tokenizer.decode(new int[] {id})
                        + ") is outside the model's vocabulary [0, " + v + ")");
            }
        }
        return ids;
    }

    private List<List<Candidate>> candidates(int[] ids, int k) {
        int t = ids.length, v = model.config().vocabSize();
        Backend backend = model.backend();
        List<List<Candidate>> out = new ArrayList<>();
        try (Tape tape = new Tape(backend, false); Arena host = Arena.ofConfined()) {
            Tensor input = backend.upload(Tensor.ofInts(host, ids, 1, t), host);                // [1, T]
            Tensor logits = model.forward(tape, input, false).value().reshape(t, v);             // [T, V]
            for (int i = 0; i < t; i++) {
                if (ids[i] == maskId) {
                    out.add(top(backend.download(logits.rows(i, i + 1), host).toFloatArray(), k));  // one [V] row per mask
                }
            }
        }
        return out;
    }

    /** The k most likely writable tokens of one row of logits [V], with softmax probabilities. */
    private List<Candidate> top(float[] logits, int k) {
        double max = Double.NEGATIVE_INFINITY;
        for (float x : logits) max = Math.max(max, x);
        double sum = 0;
        for (float x : logits) sum += Math.exp(x - max);
        int[] best = new int[k];
        int found = 0;
        for (int id = 0; id < logits.length; id++) {
            if (id == maskId || !tokenizer.hasToken(id)) continue;
            int at = found < k ? found++ : k;                        // insertion into best[0..found), descending
            if (at == k && logits[id] <= logits[best[k - 1]]) continue;
            if (at == k) at = k - 1;
            while (at > 0 && logits[best[at - 1]] < logits[id]) {
                best[at] = best[at - 1];
                at--;
            }
            best[at] = id;
        }
        List<Candidate> out = new ArrayList<>();
        for (int r = 0; r < found; r++) {
            out.add(new Candidate(best[r], tokenizer.decode(new int[] {best[r]}), Math.exp(logits[best[r]] - max) / sum));
        }
        return out;
    }
}
