package org.gptneo.generate;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Workspace;
import org.gptneo.backend.Backend;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.KvCache;
import org.gptneo.tensor.Tensor;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import org.gptneo.tokenizer.StreamDecoder;

/**
 * Text generation with a KV cache, and scoring. Thread-safe: many threads may generate on one
 * model at once, each call with its own cache and its own memory.
 *
 * <p>Batched prompts are left-padded with the end-of-text id; positions come from the attention
 * mask (cumulative count − 1, padding at 1), as Hugging Face does. A config whose end-of-text id
 * lies outside the vocabulary (Hugging Face's default 50256 in a small test model) is accepted:
 * generation then never meets end-of-text, which the constructor logs once as a WARNING, and id 0
 * pads instead (padding is masked out, so the pad id does not change the result).
 */
public final class Generator {
    private static final System.Logger LOG = System.getLogger(Generator.class.getName());

    private final GptNeoModel model;
    private final Gpt2Tokenizer tokenizer;
    /** The id that pads short prompts and follows a finished row: end-of-text when it is a token of the model. */
    private final int padId;

    public Generator(GptNeoModel model, Gpt2Tokenizer tokenizer) {
        this.model = Objects.requireNonNull(model);
        this.tokenizer = Objects.requireNonNull(tokenizer);
        int eos = model.config().eosTokenId(), v = model.config().vocabSize();
        this.padId = eos < v ? eos : 0;
        if (eos >= v) {
            LOG.log(System.Logger.Level.WARNING, eosOutsideVocabulary(eos, v));
        }
    }

    static String eosOutsideVocabulary(int eos, int vocabSize) {
        return "eos_token_id " + eos + " is outside the model's vocabulary [0, " + vocabSize
                + "): generation will not stop at end-of-text";
    }

    /** Tokenizes the prompt (the literal {@code <|endoftext|>} becomes its id) and generates. */
    public Generation generate(String prompt, GenerationConfig config, TokenListener listener) {
        return generate(tokenizer.encode(prompt), config, listener);
    }

    /** Generates from prompt ids, streaming each token to {@code listener}. */
    public Generation generate(int[] prompt, GenerationConfig config, TokenListener listener) {
        return run(List.of(prompt), config, listener).getFirst();
    }

    /** Generates for several prompts at once (left padding); row i samples with seed {@code seed + i}. */
    public List<Generation> generateBatch(List<int[]> prompts, GenerationConfig config) {
        return run(prompts, config, TokenListener.NONE);
    }

    /**
     * Natural-log probabilities of each continuation token given everything before it, for
     * evaluation: element i is log p(continuation[i] | context, continuation[0..i)).
     */
    public double[] logProbs(int[] context, int[] continuation) {
        if (context.length == 0) {
            throw new IllegalArgumentException("scoring needs at least one context token (e.g. the end-of-text id)");
        }
        int n = context.length + continuation.length, v = model.config().vocabSize();
        requireFits(n, 0);
        int[] all = Arrays.copyOf(context, n);
        System.arraycopy(continuation, 0, all, context.length, continuation.length);
        Backend backend = model.backend();
        try (Tape tape = new Tape(backend, false); Arena host = Arena.ofConfined()) {
            Tensor ids = backend.upload(Tensor.ofInts(host, all, 1, n), host);             // [1, n]
            Tensor logits = model.forward(tape, ids, false).value().reshape(n, v);      // [n, V]
            if (continuation.length == 0) return new double[0];
            Tensor predicting = logits.rows(context.length - 1, n - 1);             // rows that predict the continuation
            Tensor targets = backend.upload(Tensor.ofInts(host, continuation, continuation.length), host);
            Tensor losses = tape.allocate(continuation.length);                   // −log p per token
            backend.crossEntropy(predicting, targets, GptNeoModel.IGNORE_INDEX, losses);
            float[] nll = backend.download(losses, host).toFloatArray();             // one transfer of T numbers
            double[] out = new double[continuation.length];
            for (int i = 0; i < out.length; i++) out[i] = -nll[i];
            return out;
        }
    }

    private List<Generation> run(List<int[]> prompts, GenerationConfig config, TokenListener listener) {
        int batch = prompts.size(), longest = 0;
        if (batch == 0) throw new IllegalArgumentException("no prompts");
        for (int[] p : prompts) {
            if (p.length == 0) throw new IllegalArgumentException("a prompt must have at least one token");
            longest = Math.max(longest, p.length);
        }
        requireFits(longest, config.maxNewTokens());
        int v = model.config().vocabSize();
        Row[] rows = new Row[batch];
        for (int b = 0; b < batch; b++) {
            rows[b] = new Row(prompts.get(b), longest - prompts.get(b).length, config, config.seed() + b,
                    b == 0 ? listener : TokenListener.NONE);
        }
        int[] padding = Arrays.stream(rows).mapToInt(r -> r.padding).toArray();
        try (KvCache cache = new KvCache(model, batch, padding, longest + config.maxNewTokens());
             Workspace workspace = new Workspace()) {
            int[][] stepIds = new int[batch][], stepPositions = new int[batch][];
            for (int b = 0; b < batch; b++) {
                stepIds[b] = rows[b].paddedPrompt(longest, padId);
                stepPositions[b] = rows[b].promptPositions(longest);
            }
            for (int step = 0; step < config.maxNewTokens(); step++) {
                float[][] logits = forward(cache, workspace, stepIds, stepPositions, v);
                boolean running = false;
                for (int b = 0; b < batch; b++) {
                    Row r = rows[b];
                    int next = r.finished() ? padId : r.accept(logits[b]);
                    stepIds[b] = new int[] {next};
                    stepPositions[b] = new int[] {r.nextPosition++};
                    running |= !r.finished();
                }
                if (!running) break;
            }
        }
        List<Generation> out = new ArrayList<>();
        for (Row r : rows) out.add(r.result());
        return out;
    }

    /**
     * One cached forward step; the last position's logits per row, as [B][V] on the heap: the ids
     * and positions go up and one [B, V] block of logits comes down per step, nothing else. The
     * steps' activations reuse the workspace's memory.
     */
    private float[][] forward(KvCache cache, Workspace workspace, int[][] ids, int[][] positions, int v) {
        int batch = ids.length, t = ids[0].length;
        Backend backend = model.backend();
        // a device backend's tensors would live as long as the workspace: only host memory is reused
        try (Tape tape = backend.device().hostAccessible() ? new Tape(backend, workspace) : new Tape(backend, false);
             Arena host = Arena.ofConfined()) {
            int[] flatIds = new int[batch * t], flatPositions = new int[batch * t];
            for (int b = 0; b < batch; b++) {
                System.arraycopy(ids[b], 0, flatIds, b * t, t);
                System.arraycopy(positions[b], 0, flatPositions, b * t, t);
            }
            Tensor idTensor = backend.upload(Tensor.ofInts(host, flatIds, batch, t), host);       // [B, T]
            Tensor posTensor = backend.upload(Tensor.ofInts(host, flatPositions, batch, t), host);
            Tensor logits = model.forwardCached(tape, idTensor, posTensor, cache);                // [B, V]
            float[] flat = backend.download(logits, host).toFloatArray();
            float[][] out = new float[batch][];
            for (int b = 0; b < batch; b++) out[b] = Arrays.copyOfRange(flat, b * v, (b + 1) * v);
            return out;
        }
    }

    private void requireFits(int promptTokens, int newTokens) {
        int context = model.config().contextLength();
        if (promptTokens + newTokens > context) {
            throw new IllegalArgumentException("prompt of " + promptTokens + " tokens + " + newTokens
                    + " new tokens exceeds the context length " + context);
        }
    }

    /** The state of one sequence of a batch. */
    private final class Row {
        final int[] prompt;
        final int padding;
        final GenerationConfig config;
        final Sampler sampler;
        final TokenListener listener;
        final StreamDecoder decoder = tokenizer.streamDecoder();
        final StringBuilder text = new StringBuilder();
        int[] seen;
        int seenCount, newCount, nextPosition;
        Generation.Finish finish;

        Row(int[] prompt, int padding, GenerationConfig config, long seed, TokenListener listener) {
            this.prompt = prompt.clone();
            this.padding = padding;
            this.config = config;
            this.sampler = new Sampler(config, seed);
            this.listener = listener;
            this.seen = Arrays.copyOf(prompt, prompt.length + config.maxNewTokens());
            this.seenCount = prompt.length;
            this.nextPosition = prompt.length;
        }

        int[] paddedPrompt(int longest, int pad) {
            int[] ids = new int[longest];
            Arrays.fill(ids, 0, padding, pad);
            System.arraycopy(prompt, 0, ids, padding, prompt.length);
            return ids;
        }

        /** cumsum(mask) − 1 for real tokens, 1 for padding (Hugging Face's convention). */
        int[] promptPositions(int longest) {
            int[] pos = new int[longest];
            for (int i = 0; i < longest; i++) pos[i] = i < padding ? 1 : i - padding;
            return pos;
        }

        boolean finished() {
            return finish != null;
        }

        int accept(float[] logits) {
            int id = sampler.next(logits, seen, seenCount);
            seen[seenCount++] = id;
            newCount++;
            if (id == model.config().eosTokenId() && config.stopAtEos()) {
                finish = Generation.Finish.END_OF_TEXT;
                emit(id, decoder.flush());               // bytes held back before the end-of-text token
                return id;
            }
            String delta = decoder.push(id);
            if (newCount == config.maxNewTokens()) {
                delta += decoder.flush();                // the last token: nothing more will complete it
            }
            emit(id, delta);
            if (finish == null && newCount == config.maxNewTokens()) {
                finish = Generation.Finish.LENGTH;
            }
            return id;
        }

        /**
         * Appends a token's text, cut just after a stop string when one appears, and tells the
         * listener exactly what was appended: the streamed text always equals {@link Generation#text()}.
         */
        private void emit(int id, String delta) {
            int before = text.length();
            text.append(delta);
            for (String stop : config.stopStrings()) {
                int at = text.indexOf(stop, Math.max(0, before - stop.length() + 1));
                if (at >= 0) {
                    text.setLength(at + stop.length());
                    finish = Generation.Finish.STOP_STRING;
                    break;
                }
            }
            listener.onToken(id, text.substring(before));
        }

        Generation result() {
            return new Generation(Arrays.copyOfRange(seen, prompt.length, seenCount), text.toString(),
                    finish == null ? Generation.Finish.LENGTH : finish);
        }
    }
}
