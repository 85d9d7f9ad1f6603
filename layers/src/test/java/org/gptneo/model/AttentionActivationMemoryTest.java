package org.gptneo.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.Random;
import org.gptneo.autograd.Tape;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * A training step's activation memory (the tape's peak bytes, no timing) grows linearly in T: the
 * attention layers keep their output and one number per query row, never the T × S scores or
 * probabilities, so 4× the tokens cost about 4× the bytes, where a [T, T] tensor per layer would
 * cost 16×. The tape counts what it keeps between forward and backward; scratch a backend uses
 * inside one kernel call (the composed default's [T, S] arena, the fused kernels' tiles) is not
 * counted, so this guards the tape's side only.
 */
class AttentionActivationMemoryTest {

    @Test
    void peakBytesOfATrainingStepGrowLinearlyInTheSequenceLength() {
        long short_ = peakBytes(256), long_ = peakBytes(1024);
        assertThat((double) long_ / short_).as("peak bytes at T = 1024 over T = 256").isLessThanOrEqualTo(5.0);
    }

    /** Forward, loss and backward of a tiny model (a global and a local layer, dropout on) on one row of T random ids. */
    private static long peakBytes(int t) {
        int[] ids = new Random(t).ints(t, 0, 64).toArray();
        try (CpuBackend backend = new CpuBackend(); Arena arena = Arena.ofShared();
             GptNeoModel model = GptNeoBuilder.create().vocabSize(64).contextLength(1024).hiddenSize(16).layers(2).heads(2)
                     .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(64).dropout(0.1f).seed(5).build(backend);
             Tape tape = new Tape(backend, true)) {
            Tensor input = Tensor.ofInts(arena, ids, 1, t);
            tape.backward(model.loss(tape, model.forward(tape, input, new TrainingPass(1, false)), input));
            return tape.peakBytes();
        }
    }
}
