package org.gptneo.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.gptneo.autograd.Tape;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.backend.conformance.OffHostBackend;
import org.gptneo.backend.conformance.ReferenceBackend;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GeneratorTest {
    private static final int VOCAB = 61, WINDOW = 4;
    private static final Gpt2Tokenizer TOKENIZER = Gpt2Tokenizer.builtIn();

    private static GptNeoModel model(Backend backend) {
        return GptNeoBuilder.create().vocabSize(VOCAB).contextLength(64).hiddenSize(12).layers(4).heads(3)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(WINDOW)
                .initializerRange(0.4f).seed(11).build(backend);
    }

    /** Greedy decoding by recomputing the whole sequence for every token: the cache-free oracle. */
    private static int[] greedyByRecomputation(GptNeoModel model, int[] prompt, int newTokens) {
        int[] seq = Arrays.copyOf(prompt, prompt.length + newTokens);
        for (int n = prompt.length; n < seq.length; n++) {
            Backend backend = model.backend();
            try (Tape tape = new Tape(backend, false); Arena host = Arena.ofConfined()) {
                Tensor ids = backend.upload(Tensor.ofInts(host, Arrays.copyOf(seq, n), 1, n), host);
                float[] logits = backend.download(model.forward(tape, ids, false).value(), host).toFloatArray();
                seq[n] = Sampler.argmax(Arrays.copyOfRange(logits, (n - 1) * VOCAB, n * VOCAB));
            }
        }
        return Arrays.copyOfRange(seq, prompt.length, seq.length);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"cpu", "reference", "offhost"})
    void greedyWithTheCacheEqualsFullRecomputationFarPastTheLocalWindow(String backendName) {
        Backend backend = switch (backendName) {
            case "cpu" -> new CpuBackend();
            case "reference" -> new ReferenceBackend();
            default -> new OffHostBackend();
        };
        try (GptNeoModel model = model(backend)) {
            int[] prompt = {3, 17, 42, 8, 25};
            GenerationConfig greedy = GenerationConfig.greedy(40).withStopAtEos(false);   // 45 tokens, window 4
            Generation g = new Generator(model, TOKENIZER).generate(prompt, greedy, TokenListener.NONE);
            assertThat(g.ids()).containsExactly(greedyByRecomputation(model, prompt, 40));
            assertThat(g.finish()).isEqualTo(Generation.Finish.LENGTH);
            assertThat(Arrays.stream(g.ids()).distinct().count()).as("a non-trivial sequence").isGreaterThan(3);
        }
    }

    @Test
    void aBackendWhoseMemoryTheHostCannotTouchGeneratesWhatTheCpuGenerates() {
        try (GptNeoModel cpu = model(new CpuBackend()); GptNeoModel offHost = model(new OffHostBackend())) {
            List<int[]> prompts = List.of(new int[] {5, 9, 2, 33, 14, 7, 1}, new int[] {40}, new int[] {12, 30, 4});
            GenerationConfig sampling = GenerationConfig.sampling(20, 0.9f, 20, 0.95f, 7).withStopAtEos(false);
            List<Generation> expected = new Generator(cpu, TOKENIZER).generateBatch(prompts, sampling);
            List<Generation> actual = new Generator(offHost, TOKENIZER).generateBatch(prompts, sampling);
            for (int i = 0; i < prompts.size(); i++) {
                assertThat(actual.get(i).ids()).as("row %d", i).containsExactly(expected.get(i).ids());
            }
            double[] a = new Generator(cpu, TOKENIZER).logProbs(new int[] {3, 4}, new int[] {5, 6, 7});
            double[] b = new Generator(offHost, TOKENIZER).logProbs(new int[] {3, 4}, new int[] {5, 6, 7});
            assertThat(b).containsExactly(a, org.assertj.core.data.Offset.offset(1e-6));
        }
    }

    @Test
    void leftPaddedBatchesGenerateWhatEachPromptGeneratesAlone() {
        try (GptNeoModel model = model(new CpuBackend())) {
            Generator generator = new Generator(model, TOKENIZER);
            List<int[]> prompts = List.of(new int[] {5, 9, 2, 33, 14, 7, 1}, new int[] {40}, new int[] {12, 30, 4});
            GenerationConfig greedy = GenerationConfig.greedy(12).withStopAtEos(false);
            List<Generation> batch = generator.generateBatch(prompts, greedy);
            for (int i = 0; i < prompts.size(); i++) {
                assertThat(batch.get(i).ids()).as("row %d", i)
                        .containsExactly(generator.generate(prompts.get(i), greedy, TokenListener.NONE).ids());
            }
        }
    }

    @Test
    void seededSamplingReproducesExactly() {
        try (GptNeoModel model = model(new CpuBackend())) {
            Generator generator = new Generator(model, TOKENIZER);
            int[] prompt = {1, 2, 3};
            GenerationConfig sampling = GenerationConfig.sampling(20, 1.2f, 20, 0.95f, 1234).withStopAtEos(false);
            int[] first = generator.generate(prompt, sampling, TokenListener.NONE).ids();
            assertThat(generator.generate(prompt, sampling, TokenListener.NONE).ids()).containsExactly(first);
            assertThat(generator.generate(prompt, sampling.withSeed(99), TokenListener.NONE).ids()).isNotEqualTo(first);
            // a batch row i samples with seed + i: row 0 equals the single run
            assertThat(generator.generateBatch(List.of(prompt, prompt), sampling).getFirst().ids()).containsExactly(first);
        }
    }

    @Test
    void stopsAtEndOfTextAtStopStringsAndAtTheLimit() {
        try (GptNeoModel model = model(new CpuBackend())) {
            Generator generator = new Generator(model, TOKENIZER);
            int[] prompt = {3, 17, 42};
            int[] free = generator.generate(prompt, GenerationConfig.greedy(30).withStopAtEos(false), TokenListener.NONE).ids();

            // make the 4th generated token the end-of-text token by choosing a model whose eos is it
            int eos = free[3];
            try (GptNeoModel withEos = model.config().toBuilder().eosTokenId(eos).build(new CpuBackend())) {
                copyWeights(model, withEos);
                Generation g = new Generator(withEos, TOKENIZER).generate(prompt, GenerationConfig.greedy(30), TokenListener.NONE);
                assertThat(g.finish()).isEqualTo(Generation.Finish.END_OF_TEXT);
                assertThat(g.ids()).containsExactly(Arrays.copyOf(free, 4));
            }

            String fullText = TOKENIZER.decode(free);
            String stop = fullText.substring(5, 7);
            StringBuilder streamed = new StringBuilder();
            Generation s = generator.generate(prompt, GenerationConfig.greedy(30).withStopAtEos(false)
                    .withStopStrings(List.of(stop)), (id, delta) -> streamed.append(delta));
            assertThat(s.finish()).isEqualTo(Generation.Finish.STOP_STRING);
            assertThat(streamed.toString()).as("the stream is cut where the text is").isEqualTo(s.text());
            assertThat(s.text()).endsWith(stop).isEqualTo(fullText.substring(0, fullText.indexOf(stop) + stop.length()));

            Generation limited = generator.generate(prompt, GenerationConfig.greedy(7).withStopAtEos(false), TokenListener.NONE);
            assertThat(limited.ids()).hasSize(7);
            assertThat(limited.finish()).isEqualTo(Generation.Finish.LENGTH);
        }
    }

    @Test
    void streamingDeliversEveryTokenAndTheText() {
        try (GptNeoModel model = model(new CpuBackend())) {
            List<Integer> streamed = new ArrayList<>();
            StringBuilder text = new StringBuilder();
            Generation g = new Generator(model, TOKENIZER).generate(new int[] {7, 8}, GenerationConfig.greedy(15).withStopAtEos(false),
                    (id, delta) -> {
                        streamed.add(id);
                        text.append(delta);
                    });
            assertThat(streamed).containsExactlyElementsOf(Arrays.stream(g.ids()).boxed().toList());
            assertThat(text.toString()).isEqualTo(g.text());
        }
    }

    @Test
    void overflowingTheContextIsAClearError() {
        try (GptNeoModel model = model(new CpuBackend())) {
            assertThatThrownBy(() -> new Generator(model, TOKENIZER).generate(new int[60], GenerationConfig.greedy(5), TokenListener.NONE))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("prompt of 60 tokens + 5 new tokens exceeds the context length 64");
            assertThatThrownBy(() -> new Generator(model, TOKENIZER).generate(new int[] {1, 99}, GenerationConfig.greedy(5), TokenListener.NONE))
                    .hasMessageContaining("token id 99");
        }
    }

    @Test
    void manyThreadsGenerateOnOneModel() throws Exception {
        try (GptNeoModel model = model(new CpuBackend())) {
            Generator generator = new Generator(model, TOKENIZER);
            GenerationConfig sampling = GenerationConfig.sampling(16, 1f, 0, 1f, 5).withStopAtEos(false);
            List<int[]> prompts = List.of(new int[] {1, 2}, new int[] {9}, new int[] {4, 4, 4}, new int[] {30, 20, 10, 5});
            List<int[]> sequential = prompts.stream().map(p -> generator.generate(p, sampling, TokenListener.NONE).ids()).toList();
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                for (int round = 0; round < 3; round++) {
                    List<Future<int[]>> futures = new ArrayList<>();
                    for (int[] p : prompts) futures.add(pool.submit(() -> generator.generate(p, sampling, TokenListener.NONE).ids()));
                    for (int i = 0; i < prompts.size(); i++) assertThat(futures.get(i).get()).containsExactly(sequential.get(i));
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void logProbsAreTheLogSoftmaxOfTheFullForward() {
        try (GptNeoModel model = model(new CpuBackend())) {
            int[] context = {4, 8, 15}, continuation = {16, 23, 42};
            double[] scores = new Generator(model, TOKENIZER).logProbs(context, continuation);
            int[] all = {4, 8, 15, 16, 23, 42};
            try (Tape tape = new Tape(model.backend(), false)) {
                Tensor ids = tape.allocate(DType.I32, 1, all.length);
                for (int i = 0; i < all.length; i++) ids.setInt(i, all[i]);
                float[] logits = model.forward(tape, ids, false).value().toFloatArray();
                for (int i = 0; i < continuation.length; i++) {
                    int row = (context.length - 1 + i) * VOCAB;
                    double total = 0;
                    for (int j = 0; j < VOCAB; j++) total += Math.exp(logits[row + j]);
                    assertThat(scores[i]).isCloseTo(logits[row + continuation[i]] - Math.log(total), org.assertj.core.data.Offset.offset(1e-4));
                    assertThat(scores[i]).isNegative();
                }
            }
        }
    }

    private static void copyWeights(GptNeoModel from, GptNeoModel to) {
        from.parameters().forEach((name, p) -> to.parameters().get(name).value().copyFrom(p.value()));
    }
}
