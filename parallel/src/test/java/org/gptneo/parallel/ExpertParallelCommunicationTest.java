package org.gptneo.parallel;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.gptneo.autograd.Tape;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.ModelOutput;
import org.gptneo.model.TrainingPass;
import org.gptneo.nn.RoutingStats;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a training step sends over the expert-parallel group, as docs/parallel.md states it: per
 * mixture layer, forward an all-gather of E ints (every rank's kept assignments per expert) and two
 * all-to-alls of [ep·M, C], backward two all-to-alls of [ep·M, C] (layers in reverse), where M is the
 * largest number of rows one rank sends another, computed here from every rank's routing statistics.
 * Nothing else.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ExpertParallelCommunicationTest {
    private static final int EP = 2;

    /** One rank's step: the collectives of its forward and backward passes ("op elements"), and its routing. */
    private record Calls(List<String> forward, List<String> backward, List<RoutingStats> routing) {
    }

    @Test
    void aStepExchangesWhatTheDocumentationSays() {
        GptNeoConfig config = ExpertParallelRun.tiny(2, 0.5f);
        int c = config.hiddenSize(), experts = config.moe().experts();
        List<Calls> ranks = RankThreads.run(InProcessCommunicator.group(EP), group -> {
            Counting ep = new Counting(group);
            try (Backend backend = new CpuBackend(1); ExpertParallelModel model = ExpertParallelRun.shardOfFreshModel(config, backend, ep);
                 Arena arena = Arena.ofConfined(); Tape tape = new Tape(backend, true)) {
                int[] all = ExpertParallelRun.ids(EP), rows = new int[ExpertParallelRun.ROWS_PER_RANK * ExpertParallelRun.TIME];
                System.arraycopy(all, group.rank() * rows.length, rows, 0, rows.length);
                Tensor input = Tensor.ofInts(arena, rows, ExpertParallelRun.ROWS_PER_RANK, ExpertParallelRun.TIME);
                ep.calls.clear();
                ModelOutput output = model.model().run(tape, input, new TrainingPass(3, false));
                List<String> forward = List.copyOf(ep.calls);
                ep.calls.clear();
                tape.backward(model.model().loss(tape, output, input));
                return new Calls(forward, List.copyOf(ep.calls), output.routing());
            }
        });
        List<String> forward = new ArrayList<>(), backward = new ArrayList<>();
        for (int layer = 0; layer < 2; layer++) {
            long exchanged = (long) EP * block(ranks, layer, experts) * c;
            forward.addAll(List.of("allGather " + experts, "allToAll " + exchanged, "allToAll " + exchanged));
            backward.addAll(0, List.of("allToAll " + exchanged, "allToAll " + exchanged));
        }
        for (Calls rank : ranks) {
            assertThat(rank.forward()).as("forward: per layer the counts, the rows out, the outputs back").isEqualTo(forward);
            assertThat(rank.backward()).as("backward: per layer, last first, the outputs' gradients out, the rows' back").isEqualTo(backward);
        }
    }

    /** M of a layer: the most rows one rank sends another (the kept assignments of the receiver's experts), at least 1. */
    private static int block(List<Calls> ranks, int layer, int experts) {
        int held = experts / EP, largest = 1;
        for (Calls sender : ranks) {
            int[] kept = sender.routing().get(layer).tokensPerExpert();
            for (int j = 0; j < EP; j++) largest = Math.max(largest, Arrays.stream(kept, j * held, (j + 1) * held).sum());
        }
        return largest;
    }

    /** Records every all-gather's input and all-to-all's element count; any other collective fails the test. */
    private static final class Counting implements Communicator {
        private final Communicator inner;
        final List<String> calls = new ArrayList<>();

        Counting(Communicator inner) {
            this.inner = inner;
        }

        @Override public int rank() { return inner.rank(); }
        @Override public int size() { return inner.size(); }
        @Override public String name() { return inner.name(); }
        @Override public boolean accepts(Tensor t) { return inner.accepts(t); }

        @Override
        public void allGather(Tensor input, Tensor output) {
            calls.add("allGather " + input.size());
            inner.allGather(input, output);
        }

        @Override
        public void allToAll(Tensor input, Tensor output) {
            calls.add("allToAll " + input.size());
            inner.allToAll(input, output);
        }

        @Override public void allReduce(Tensor buffer, ReduceOp op) { throw unexpected(); }
        @Override public void reduceScatter(Tensor input, Tensor output, ReduceOp op) { throw unexpected(); }
        @Override public void broadcast(Tensor buffer, int root) { throw unexpected(); }
        @Override public void send(Tensor t, int peer) { throw unexpected(); }
        @Override public void receive(Tensor t, int peer) { throw unexpected(); }
        @Override public void sendReceive(Tensor out, int destination, Tensor in, int source) { throw unexpected(); }
        @Override public void barrier() { throw unexpected(); }
        @Override public Communicator split(int color, int key) { throw unexpected(); }
        @Override public void close() { inner.close(); }

        private static AssertionError unexpected() {
            return new AssertionError("an expert-parallel forward and backward pass uses all-gathers and all-to-alls only");
        }
    }
}
