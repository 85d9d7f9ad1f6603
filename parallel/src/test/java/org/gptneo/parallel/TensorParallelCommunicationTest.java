package org.gptneo.parallel;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a training step sends, as docs/parallel.md states it: forward, one all-reduce of [N, C] for the
 * embedding, two per block (the g after attention and after the MLP) and three of [N] in the
 * cross-entropy; backward, two of [N, C] per block (the f before attention and before the MLP) and
 * one for the LM head's f. Nothing else.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TensorParallelCommunicationTest {

    @Test
    void aStepAllReducesWhatTheDocumentationSays() {
        GptNeoConfig config = TensorParallelTest.tiny().config();                  // 2 blocks with attention, C 32
        int n = TensorParallelRun.BATCH * TensorParallelRun.TIME, c = config.hiddenSize();
        List<List<List<Long>>> phases = RankThreads.run(InProcessCommunicator.group(2), group -> {
            Counting tp = new Counting(group);
            try (Backend backend = new CpuBackend(1); TensorParallelModel model = TensorParallelRun.shardOfFreshModel(config, backend, tp, 1);
                 Arena arena = Arena.ofConfined(); Tape tape = new Tape(backend, true)) {
                tp.calls.clear();
                Var logits = model.forward(tape, Tensor.ofInts(arena, TensorParallelRun.IDS, TensorParallelRun.BATCH,
                        TensorParallelRun.TIME), false);
                Var loss = model.loss(tape, logits, Tensor.ofInts(arena, TensorParallelRun.IDS, TensorParallelRun.BATCH,
                        TensorParallelRun.TIME));
                List<Long> forward = List.copyOf(tp.calls);
                tp.calls.clear();
                tape.backward(loss);
                return List.of(forward, List.copyOf(tp.calls));
            }
        });
        long nc = (long) n * c;
        for (List<List<Long>> rank : phases) {
            assertThat(rank.get(0)).as("forward: embedding, 2 blocks × (attention, MLP), cross-entropy")
                    .containsExactly(nc, nc, nc, nc, nc, (long) n, (long) n, (long) n);
            assertThat(rank.get(1)).as("backward: LM head, then 2 blocks × (MLP, attention)")
                    .containsExactly(nc, nc, nc, nc, nc);
        }
    }

    /** Records the element count of every all-reduce; any other collective fails the test. */
    private static final class Counting implements Communicator {
        private final Communicator inner;
        final List<Long> calls = new ArrayList<>();

        Counting(Communicator inner) {
            this.inner = inner;
        }

        @Override public int rank() { return inner.rank(); }
        @Override public int size() { return inner.size(); }
        @Override public String name() { return inner.name(); }
        @Override public boolean accepts(Tensor t) { return inner.accepts(t); }

        @Override
        public void allReduce(Tensor buffer, ReduceOp op) {
            calls.add(buffer.size());
            inner.allReduce(buffer, op);
        }

        @Override public void reduceScatter(Tensor input, Tensor output, ReduceOp op) { throw unexpected(); }
        @Override public void allGather(Tensor input, Tensor output) { throw unexpected(); }
        @Override public void broadcast(Tensor buffer, int root) { throw unexpected(); }
        @Override public void allToAll(Tensor input, Tensor output) { throw unexpected(); }
        @Override public void send(Tensor t, int peer) { throw unexpected(); }
        @Override public void receive(Tensor t, int peer) { throw unexpected(); }
        @Override public void sendReceive(Tensor out, int destination, Tensor in, int source) { throw unexpected(); }
        @Override public void barrier() { throw unexpected(); }
        @Override public Communicator split(int color, int key) { throw unexpected(); }
        @Override public void close() { inner.close(); }

        private static AssertionError unexpected() {
            return new AssertionError("a tensor-parallel step uses all-reduces only");
        }
    }
}
