package org.gptneo.autograd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.gptneo.backend.Backend;
import org.gptneo.backend.Backends;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Tapes on a workspace: zeroed memory, the same memory from the second step on, one tape at a time. */
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
