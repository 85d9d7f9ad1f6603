package org.gptneo.autograd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.Map;
import org.gptneo.backend.Backend;
import org.gptneo.backend.Backends;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Tapes on a workspace: zeroed memory, the same memory from the second step on, one tape at a time,
 * and results that do not depend on what the last step left in the memory it does not zero.
 */
class WorkspaceTest {
    private final Backend backend = Backends.defaultBackend();

    @AfterEach
    void close() {
        backend.close();
    }

    @Test
    void fromTheSecondStepOnTheSameMemoryIsReusedAndZeroed() {
        try (Workspace workspace = new Workspace()) {
            long[] addresses = new long[3];
            for (int step = 0; step < 3; step++) {
                try (Tape tape = new Tape(backend, workspace)) {
                    Tensor small = tape.allocate(3, 5), large = tape.allocate(300, 700);
                    assertThat(small.toFloatArray()).as("step %d", step).containsOnly(0f);
                    assertThat(large.toFloatArray()).as("step %d", step).containsOnly(0f);
                    backend.fill(small, 7f);
                    backend.fill(large, -1f);
                    addresses[step] = large.data().address();
                }
            }
            assertThat(addresses[2]).isEqualTo(addresses[1]);
        }
    }

    /**
     * The results a tape does not zero first (its ops write them whole) give the same bits when the
     * previous step left NaN in every byte of the slab: logits, loss and every parameter's gradient
     * of a model with global and local layers, against a tape of its own.
     */
    @Test
    void resultsLeftUnzeroedDoNotDependOnWhatThePreviousStepLeft() {
        try (Arena arena = Arena.ofShared(); Workspace workspace = new Workspace();
             GptNeoModel model = GptNeoBuilder.create().vocabSize(40).contextLength(16).hiddenSize(32).layers(2).heads(4)
                     .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(3).seed(7).build(backend)) {
            Tensor ids = Tensor.ofInts(arena, new int[] {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7}, 2, 7);
            Map<String, float[]> alone = pass(model, ids, new Tape(backend, true));
            pass(model, ids, new Tape(backend, true, workspace));               // sizes the slab
            try (Tape poisoning = new Tape(backend, workspace)) {
                // all of the slab but its alignment margin: a step that asks for more gets a fresh slab
                backend.fill(poisoning.allocate(Math.toIntExact(workspace.capacity() / Float.BYTES) - 16), Float.NaN);
            }
            Map<String, float[]> reused = pass(model, ids, new Tape(backend, true, workspace));
            assertThat(reused.keySet()).containsExactlyElementsOf(alone.keySet());
            for (String name : alone.keySet()) assertThat(reused.get(name)).as(name).containsExactly(alone.get(name));
        }
    }

    /** Logits, loss and the parameters' gradients of one forward and backward pass on {@code tape}, which it closes. */
    private static Map<String, float[]> pass(GptNeoModel model, Tensor ids, Tape tape) {
        Map<String, float[]> out = new LinkedHashMap<>();
        model.zeroGrad();
        try (tape) {
            Var logits = model.forward(tape, ids, false);
            Var loss = model.loss(tape, logits, ids);
            tape.backward(loss);
            out.put("logits", logits.value().toFloatArray());
            out.put("loss", loss.value().toFloatArray());
        }
        model.parameters().forEach((name, p) -> out.put(name, p.grad().toFloatArray()));
        return out;
    }

    @Test
    void aLargerStepGrowsTheSlab() {
        try (Workspace workspace = new Workspace()) {
            try (Tape tape = new Tape(backend, workspace)) {
                tape.allocate(10);
            }
            for (int step = 0; step < 2; step++) {
                try (Tape tape = new Tape(backend, workspace)) {
                    Tensor t = tape.allocate(1000, 100);
                    assertThat(t.toFloatArray()).containsOnly(0f);
                    backend.fill(t, 2f);
                }
            }
        }
    }

    @Test
    void oneTapeAtATime() {
        try (Workspace workspace = new Workspace(); Tape first = new Tape(backend, workspace)) {
            first.allocate(4);
            assertThatThrownBy(() -> new Tape(backend, workspace))
                    .hasMessage("a workspace serves one tape at a time: close the previous tape first");
        }
    }
}
