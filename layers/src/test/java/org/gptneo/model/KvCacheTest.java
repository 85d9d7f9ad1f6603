package org.gptneo.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import org.gptneo.autograd.Tape;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The cache appends in place: a decoding step copies one slot per layer (plus, on local layers, a
 * move of window − 1 slots once every window + 1 tokens), whatever the cache length; and cached
 * logits equal a full forward pass at every length.
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
}
