package org.gptneo.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import org.gptneo.autograd.Tape;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The cache appends in place: a decoding step copies one slot per layer (plus, on local layers, a
 * move of window − 1 slots once every window + 1 tokens), whatever the cache length; and cached
 * logits equal a full forward pass at every length. A cache made for fewer tokens than the context
 * gives the same logits and refuses a token past what it was made for.
 */
class KvCacheTest {
    private static final int WINDOW = 8, CONTEXT = 1100, LAYERS = 2;

    @Test
    void copyingPerTokenStaysConstantFrom64To1024CachedTokensAndLogitsMatchTheFullPass() {
        try (CpuBackend backend = new CpuBackend();
             GptNeoModel model = GptNeoBuilder.create().vocabSize(50).contextLength(CONTEXT).hiddenSize(8)
                     .layers(LAYERS).heads(2).attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(WINDOW)
                     .initializerRange(0.3f).seed(5).build(backend);
             KvCache cache = new KvCache(model, 1, null);
             Arena arena = Arena.ofConfined()) {
            int[] seq = new int[1025];
            for (int i = 0; i < seq.length; i++) seq[i] = (i * 7 + 3) % 50;
            long[] copiedAfter = new long[seq.length];
            float[] lastLogits = null;
            for (int i = 0; i < seq.length; i++) {
                try (Tape tape = new Tape(backend, false)) {
                    Tensor ids = Tensor.ofInts(arena, new int[] {seq[i]}, 1, 1);
                    Tensor positions = Tensor.ofInts(arena, new int[] {i}, 1, 1);
                    lastLogits = model.forwardCached(tape, ids, positions, cache).toFloatArray();
                    copiedAfter[i] = cache.copiedSlots();
                }
            }
            long early = copiedAfter[127] - copiedAfter[63];      // 64 tokens with 64..127 cached
            long late = copiedAfter[1023] - copiedAfter[959];     // 64 tokens with 960..1023 cached
            assertThat(late).isEqualTo(early);
            // per token: one new slot in each layer, plus the local layer's move of window − 1 slots per window + 1 tokens
            assertThat((double) early / 64).isCloseTo(LAYERS + (WINDOW - 1.0) / (WINDOW + 1), within(0.2));

            try (Tape tape = new Tape(backend, false)) {
                Tensor all = Tensor.ofInts(arena, seq, 1, seq.length);
                float[] full = model.forward(tape, all, false).value().toFloatArray();
                for (int v = 0; v < 50; v++) {
                    assertThat(lastLogits[v]).isCloseTo(full[(seq.length - 1) * 50 + v], within(1e-4f));
                }
            }
        }
    }

    @Test
    void stepsOfAnySizeInPlaceOrLargerThanTheLocalBufferGiveTheFullPassLogits() {
        int[] chunks = {1, 3, 20, 1, 1, 7, 16, 2, 1, 30, 1};          // 83 tokens; 20, 16 and 30 overflow the local buffer
        try (CpuBackend backend = new CpuBackend();
             GptNeoModel model = GptNeoBuilder.create().vocabSize(50).contextLength(128).hiddenSize(8)
                     .layers(LAYERS).heads(2).attention(AttentionType.LOCAL, AttentionType.GLOBAL).windowSize(WINDOW)
                     .initializerRange(0.3f).seed(9).build(backend);
             KvCache cache = new KvCache(model, 1, null);
             Arena arena = Arena.ofConfined()) {
            int total = java.util.Arrays.stream(chunks).sum();
            int[] seq = new int[total];
            for (int i = 0; i < total; i++) seq[i] = (i * 11 + 4) % 50;
            float[] full;
            try (Tape tape = new Tape(backend, false)) {
                full = model.forward(tape, Tensor.ofInts(arena, seq, 1, total), false).value().toFloatArray();
            }
            int done = 0;
            for (int chunk : chunks) {
                int[] ids = java.util.Arrays.copyOfRange(seq, done, done + chunk);
                int[] positions = java.util.stream.IntStream.range(done, done + chunk).toArray();
                try (Tape tape = new Tape(backend, false)) {
                    float[] logits = model.forwardCached(tape, Tensor.ofInts(arena, ids, 1, chunk),
                            Tensor.ofInts(arena, positions, 1, chunk), cache).toFloatArray();   // the chunk's last token
                    int last = done + chunk - 1;
                    for (int v = 0; v < 50; v++) {
                        assertThat(logits[v]).as("token %d, logit %d", last, v).isCloseTo(full[last * 50 + v], within(1e-4f));
                    }
                }
                done += chunk;
            }
            assertThat(cache.length()).isEqualTo(total);
        }
    }

    @Test
    void aCacheMadeForTheGenerationGivesTheContextSizedCachesLogitsBitForBitAndRefusesOneTokenMore() {
        int tokens = 2 * WINDOW + 5;                      // past the local layer's buffer of 2·window slots
        try (CpuBackend backend = new CpuBackend();
             GptNeoModel model = GptNeoBuilder.create().vocabSize(50).contextLength(64).hiddenSize(8)
                     .layers(LAYERS).heads(2).attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(WINDOW)
                     .initializerRange(0.3f).seed(7).build(backend);
             KvCache sized = new KvCache(model, 2, new int[] {0, 3}, tokens);
             KvCache whole = new KvCache(model, 2, new int[] {0, 3});
             Arena arena = Arena.ofConfined()) {
            assertThat(sized.capacity()).isEqualTo(tokens);
            assertThat(whole.capacity()).isEqualTo(64);
            int[] prompt = {4, 9, 1, 7, 0, 0, 0, 2, 8, 5};      // two rows of 5, the second left-padded by 3
            int[] positions = {0, 1, 2, 3, 4, 0, 0, 0, 1, 2};
            int done = 5;
            float[] a = step(model, backend, arena, sized, prompt, positions, 5);
            float[] b = step(model, backend, arena, whole, prompt, positions, 5);
            assertThat(a).containsExactly(b);
            while (done < tokens) {
                int[] ids = {(done * 7) % 50, (done * 3 + 1) % 50};
                int[] at = {done, done - 3};
                assertThat(step(model, backend, arena, sized, ids, at, 1))
                        .as("token %d", done).containsExactly(step(model, backend, arena, whole, ids, at, 1));
                done++;
            }
            assertThat(sized.length()).isEqualTo(tokens);
            assertThatThrownBy(() -> step(model, backend, arena, sized, new int[] {1, 1}, new int[] {tokens, tokens - 3}, 1))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("cache of 21 tokens + 1 new ones exceeds the 21 tokens it was made for (the context length is 64)");
        }
    }

    @Test
    void aCacheForNoTokensOrMoreThanTheContextIsRefusedWithTheRange() {
        try (CpuBackend backend = new CpuBackend();
             GptNeoModel model = GptNeoBuilder.create().vocabSize(50).contextLength(64).hiddenSize(8)
                     .layers(1).heads(2).attention(AttentionType.GLOBAL).seed(7).build(backend)) {
            for (int tokens : new int[] {0, 65}) {
                assertThatThrownBy(() -> new KvCache(model, 1, null, tokens)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessage("a cache holds 1 to 64 tokens (the context length), asked for " + tokens);
            }
        }
    }

    /** One cached step of t tokens per row for rows of ids [B·t] at positions [B·t]; the last position's logits [B·V]. */
    private static float[] step(GptNeoModel model, CpuBackend backend, Arena arena, KvCache cache, int[] ids, int[] positions, int t) {
        int batch = ids.length / t;
        try (Tape tape = new Tape(backend, false)) {
            return model.forwardCached(tape, Tensor.ofInts(arena, ids, batch, t), Tensor.ofInts(arena, positions, batch, t), cache)
                    .toFloatArray();
        }
    }
}
