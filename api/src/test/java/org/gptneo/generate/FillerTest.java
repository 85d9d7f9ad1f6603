package org.gptneo.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.util.List;
import org.gptneo.GptNeo;
import org.gptneo.autograd.Tape;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.Objective;
import org.gptneo.tensor.Tensor;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Filler on a random masked-LM model over GPT-2's tokens plus [MASK] (id 50257): what it computes and what it refuses. */
class FillerTest {
    static final int V = 50_258, MASK = 50_257;
    static final Gpt2Tokenizer GPT2 = Gpt2Tokenizer.builtIn();
    static GptNeoModel model;

    @BeforeAll
    static void randomModel() {
        model = GptNeo.builder().vocabSize(V).contextLength(32).hiddenSize(16).layers(2).heads(2)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(4).initializerRange(0.5f).seed(7)
                .objective(Objective.MASKED_LM).maskTokenId(MASK).build(new CpuBackend(2)).closingBackend();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Softmax of the logits at position p of the text's ids, computed here in double. */
    private static double[] probabilities(int[] ids, int p) {
        Backend backend = model.backend();
        try (Tape tape = new Tape(backend, false); Arena host = Arena.ofConfined()) {
            Tensor input = backend.upload(Tensor.ofInts(host, ids, 1, ids.length), host);
            float[] all = backend.download(model.forward(tape, input, false).value(), host).toFloatArray();   // [1, T, V]
            double[] p2 = new double[V];
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int v = 0; v < V; v++) max = Math.max(max, all[p * V + v]);
            for (int v = 0; v < V; v++) sum += p2[v] = Math.exp(all[p * V + v] - max);
            for (int v = 0; v < V; v++) p2[v] /= sum;
            return p2;
        }
    }

    private static int argmax(double[] p, int skip) {
        int best = -1;
        for (int v = 0; v < p.length; v++) if (v != skip && (best < 0 || p[v] > p[best])) best = v;
        return best;
    }

    @Test
    void candidatesAreTheSoftmaxAtEachMaskInOrderAndFillTakesTheFirst() {
        Filler filler = new Filler(model, GPT2);
        String text = "The [MASK] sat on the [MASK].";
        int[] ids = filler.tokenizer().encode(text);
        assertThat(ids).containsExactly(464, MASK, 3332, 319, 262, MASK, 13);
        List<List<Filler.Candidate>> candidates = filler.candidates(text, 5);
        assertThat(candidates).hasSize(2);
        int[] maskAt = {1, 5};
        int[] filled = ids.clone();
        for (int m = 0; m < 2; m++) {
            double[] p = probabilities(ids, maskAt[m]);
            List<Filler.Candidate> top = candidates.get(m);
            assertThat(top).hasSize(5);
            assertThat(top.getFirst().id()).isEqualTo(argmax(p, MASK));
            for (int r = 0; r < 5; r++) {
                Filler.Candidate c = top.get(r);
                assertThat(c.probability()).isCloseTo(p[c.id()], within(1e-6));
                assertThat(c.text()).isEqualTo(GPT2.decode(new int[] {c.id()}));
                assertThat(c.id()).isNotEqualTo(MASK);
                if (r > 0) assertThat(c.probability()).isLessThanOrEqualTo(top.get(r - 1).probability());
            }
            filled[maskAt[m]] = top.getFirst().id();
        }
        assertThat(filler.fill(text)).isEqualTo(GPT2.decode(filled)).doesNotContain("[MASK]");
    }

    @Test
    void aCausalModelATextWithoutMaskAndMismatchedTokenizersAreRefusedWithOneLine() {
        try (GptNeoModel causal = model.config().toBuilder().objective(Objective.CAUSAL_LM).build(new CpuBackend(1)).closingBackend()) {
            assertThatThrownBy(() -> new Filler(causal, GPT2)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("filling in [MASK] needs a masked-LM model; this model's objective is causal_lm"
                            + " (it predicts the next token: use generate)");
        }
        Filler filler = new Filler(model, GPT2);
        assertThatThrownBy(() -> filler.fill("no mask here")).hasMessage("the text has no [MASK] to fill in");
        assertThatThrownBy(() -> filler.candidates("a [MASK]", 0)).hasMessage("the number of candidates must be at least 1, got 0");
        assertThatThrownBy(() -> filler.fill("[MASK]" + " word".repeat(40)))
                .hasMessage("the text is 41 tokens, more than the model's context length 32");
        assertThatThrownBy(() -> new Filler(model, GPT2.withMaskToken(50300)))
                .hasMessage("the tokenizer's [MASK] is id 50300 but the model's mask token is id 50257");
        try (GptNeoModel onEos = model.config().toBuilder().maskTokenId(50256).build(new CpuBackend(1)).closingBackend()) {
            assertThatThrownBy(() -> new Filler(onEos, GPT2)).hasMessage("the model's mask token id 50256 does not fit the"
                    + " tokenizer: built-in GPT-2 tokenizer: id 50256 is already the token '<|endoftext|>', it cannot also be [MASK]");
        }
        assertThatThrownBy(() -> GptNeo.builder().vocabSize(GPT2.vocabSize()).objective(Objective.MASKED_LM)
                .maskTokenId(GPT2.withMaskToken().maskTokenId().getAsInt()).config())
                .hasMessageContaining("50257").hasMessageContaining("outside the vocabulary [0, 50257)");
    }
}
