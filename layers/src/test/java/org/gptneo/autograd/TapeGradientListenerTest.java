package org.gptneo.autograd;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.gptneo.backend.Backend;
import org.gptneo.backend.conformance.ReferenceBackend;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link Tape#backward(Var, GradientListener)} tells of each parameter once, after the last step that
 * adds to its gradient: the gradient the listener sees then is the pass's final one, bit for bit. The
 * model reads a tied table twice (an embedding first, the output head last), runs a middle block
 * plainly or under activation checkpointing, and may freeze one parameter.
 */
class TapeGradientListenerTest {
    private static final int N = 6, C = 8, F = 12, V = 7;
    private final Backend backend = new ReferenceBackend();
    private final Arena arena = Arena.ofShared();
    private final Random random = new Random(5);

    @AfterEach
    void free() {
        arena.close();
    }

    /** What a listener saw: the announced order, the completion order, and each gradient's bits at completion. */
    private static final class Recorder implements GradientListener {
        final List<Var> announced = new ArrayList<>();
        final List<Var> completed = new ArrayList<>();
        final Map<Var, int[]> seen = new IdentityHashMap<>();

        @Override
        public void starting(List<Var> parameters) {
            assertThat(announced).as("starting is called once").isEmpty();
            announced.addAll(parameters);
        }

        @Override
        public void completed(Var parameter) {
            completed.add(parameter);
            seen.put(parameter, bits(parameter.grad()));
        }
    }

    /** table [V, C] (tied), ln gamma/beta [C], fc [F, C] + bias [F], proj [C, F]. */
    private final class Model {
        final Arena grads = Arena.ofShared();
        final Var table = param(V * C), gamma = param(C), beta = param(C), fc = param(F * C), fcBias = param(F), proj = param(C * F);

        List<Var> all() {
            return List.of(table, gamma, beta, fc, fcBias, proj);
        }

        /** One forward and backward pass over ids [N]; the middle block checkpointed or not. */
        void pass(Tape tape, int[] ids, boolean checkpoint, GradientListener listener) {
            Var tableMatrix = tape.reshape(table, V, C);
            Var h = tape.embedding(tableMatrix, Tensor.ofInts(arena, ids, N));                       // [N, C]
            Segment block = (t, x) -> t.add(x, t.linear(t.geluNew(t.linear(t.layerNorm(x, gamma, beta, 1e-5f),
                    t.reshape(fc, F, C), fcBias)), t.reshape(proj, C, F), null));                  // [N, C]
            h = checkpoint ? tape.checkpoint(block, h) : block.run(tape, h);
            Var logits = tape.linear(h, tableMatrix, null);                                          // [N, V]
            int[] targets = new int[N];
            for (int i = 0; i < N; i++) targets[i] = ids[(i + 1) % N];
            Var loss = tape.crossEntropyMean(logits, Tensor.ofInts(arena, targets, N), -100);
            tape.backward(loss, listener);
        }

        private Var param(int size) {
            float[] v = new float[size];
            for (int i = 0; i < size; i++) v[i] = (float) random.nextGaussian() * 0.5f;
            return Var.parameter(Tensor.of(arena, v, size), grads);
        }
    }

    private final int[] ids = {1, 4, 2, 6, 0, 3};

    @Test
    void eachParameterCompletesOnceWithItsFinalGradient() {
        for (boolean checkpoint : new boolean[] {false, true}) {
            Model m = new Model();
            Recorder recorder = new Recorder();
            try (Tape tape = new Tape(backend, true)) {
                m.pass(tape, ids, checkpoint, recorder);
            }
            assertThat(recorder.completed).as("checkpoint " + checkpoint).containsExactlyElementsOf(recorder.announced);
            assertThat(recorder.completed).containsExactlyInAnyOrderElementsOf(m.all());
            for (Var p : m.all()) assertThat(recorder.seen.get(p)).as("final gradient").isEqualTo(bits(p.grad()));
        }
    }

    @Test
    void theLastBlocksCompleteFirstAndATiedTableLast() {
        Model m = new Model();
        Recorder recorder = new Recorder();
        try (Tape tape = new Tape(backend, true)) {
            m.pass(tape, ids, false, recorder);
        }
        assertThat(recorder.completed.getFirst()).as("the output projection's weight: read last").isSameAs(m.proj);
        assertThat(recorder.completed.getLast()).as("the table: read first, by the embedding").isSameAs(m.table);
        assertThat(recorder.completed.indexOf(m.fc)).isLessThan(recorder.completed.indexOf(m.gamma));
    }

    @Test
    void aCheckpointedBlockCompletesWithItsRecomputation() {
        Model m = new Model();
        List<String> events = new ArrayList<>();
        try (Tape tape = new Tape(backend, true)) {
            m.pass(tape, ids, true, new GradientListener() {
                @Override
                public void starting(List<Var> parameters) {
                }

                @Override
                public void completed(Var parameter) {
                    events.add(parameter == m.table ? "table" : "block");
                }
            });
        }
        assertThat(events).containsExactly("block", "block", "block", "block", "block", "table");
    }

    @Test
    void frozenParametersAreNotAnnounced() {
        Model m = new Model();
        m.gamma.setTrainable(false);
        Recorder recorder = new Recorder();
        try (Tape tape = new Tape(backend, true)) {
            m.pass(tape, ids, false, recorder);
        }
        assertThat(recorder.announced).doesNotContain(m.gamma).hasSize(5);
        assertThat(m.gamma.grad()).isNull();
    }

    @Test
    void aSecondPassCompletesWithTheAccumulatedGradient() {
        Model m = new Model();
        try (Tape first = new Tape(backend, true)) {
            m.pass(first, ids, false, new Recorder());
        }
        Recorder recorder = new Recorder();
        try (Tape second = new Tape(backend, true)) {
            m.pass(second, new int[] {5, 5, 1, 2, 0, 6}, true, recorder);
        }
        for (Var p : m.all()) assertThat(recorder.seen.get(p)).as("the sum of both passes").isEqualTo(bits(p.grad()));
    }

    @Test
    void theListenerChangesNoBits() {
        Model plain = new Model();
        random.setSeed(5);
        Model listened = new Model();
        try (Tape a = new Tape(backend, true); Tape b = new Tape(backend, true)) {
            Var tableMatrix = a.reshape(plain.table, V, C);
            Var logits = a.linear(a.embedding(tableMatrix, Tensor.ofInts(arena, ids, N)), tableMatrix, null);
            a.backward(a.crossEntropyMean(logits, Tensor.ofInts(arena, ids, N), -100));
            Var tableB = b.reshape(listened.table, V, C);
            Var logitsB = b.linear(b.embedding(tableB, Tensor.ofInts(arena, ids, N)), tableB, null);
            b.backward(b.crossEntropyMean(logitsB, Tensor.ofInts(arena, ids, N), -100), new Recorder());
        }
        assertThat(bits(listened.table.grad())).isEqualTo(bits(plain.table.grad()));
    }

    private static int[] bits(Tensor t) {
        float[] f = t.toFloatArray();
        int[] out = new int[f.length];
        for (int i = 0; i < f.length; i++) out[i] = Float.floatToRawIntBits(f[i]);
        return out;
    }
}
