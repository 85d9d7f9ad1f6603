package org.gptneo.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import org.gptneo.GptNeo;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.GptNeoModel;
import org.gptneo.parallel.Communicator;
import org.gptneo.parallel.InProcessCommunicator;
import org.gptneo.parallel.InProcessRanks;
import org.gptneo.parallel.ReduceOp;
import org.gptneo.tensor.Tensor;

/**
 * Measures data-parallel scaling on in-process ranks and the bytes a step hands to collectives. A
 * small GPT-Neo (vocabulary 4096, width 128, 4 layers of 4 heads, context 64, no dropout) trains
 * for a few steps with a global batch of B sequences: in one process on a 1-thread and a 2-thread
 * CPU backend, and on D in-process ranks of one thread each (plain and ZeRO-1, the gradients reduced
 * after the backward pass or during it), after one discarded run that warms the JIT up. Per run: the median step time after one warm-up step, tokens per second, and per step the payload bytes given to each kind of collective,
 * next to the traffic a ring all-reduce of the gradients sends per rank, 2·(D−1)/D·(gradient bytes).
 * A program, not a test.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -cp "$(cat api/target/test-classpath.txt)"
 * org.gptneo.train.DataParallelMeasurement [ranks 2] [batch 8] [steps 6]} (the class path: api's test
 * classes, its classes and its dependencies; see docs/parallel.md for the command used).
 */
public final class DataParallelMeasurement {
    private static final int SEQ = 64;

    private DataParallelMeasurement() {}

    public static void main(String[] args) {
        int ranks = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 6;
        System.out.printf(Locale.ROOT, "GPT-Neo vocab 4096, width 128, 4 layers, T=%d, global batch %d, %d steps (median after 1 warm-up), %d CPUs%n",
                SEQ, batch, steps, Runtime.getRuntime().availableProcessors());
        long gradientBytes;
        try (GptNeoModel model = model(1)) {
            gradientBytes = model.registry().trainable().elementCount() * Float.BYTES;
        }
        System.out.printf(Locale.ROOT, "gradient bytes G = %,d; a ring all-reduce sends 2·(D−1)/D·G = %,d B per rank and step for D = %d%n",
                gradientBytes, 2 * (ranks - 1) * gradientBytes / ranks, ranks);
        single(2, batch, steps);                                  // warms the JIT up for every run below
        report("1 process, 1 thread", single(1, batch, steps), batch, null);
        report("1 process, 2 threads", single(2, batch, steps), batch, null);
        for (int zero = 0; zero <= 1; zero++) {
            for (boolean overlap : new boolean[] {false, true}) {
                Counting[] counters = new Counting[ranks];
                int stage = zero;
                List<List<Double>> times = InProcessRanks.run(InProcessCommunicator.group(ranks), c -> {
                    Counting counting = new Counting(c);
                    counters[c.rank()] = counting;
                    try (GptNeoModel model = model(1)) {
                        return timed(model, trainer(model, batch, steps).dataParallel(counting).zeroStage(stage).overlapGradientReduction(overlap));
                    }
                });
                report(ranks + " ranks, 1 thread each" + (zero == 1 ? ", ZeRO-1" : "") + (overlap ? ", during backward" : ", after backward"),
                        times.getFirst(), batch, counters[0].perStep(steps));
            }
        }
    }

    private static List<Double> single(int threads, int batch, int steps) {
        try (GptNeoModel model = model(threads)) {
            return timed(model, trainer(model, batch, steps));
        }
    }

    private static GptNeoModel model(int threads) {
        return GptNeo.builder().vocabSize(4096).contextLength(SEQ).hiddenSize(128).layers(4).heads(4).dropout(0f).seed(1)
                .build(new CpuBackend(threads)).closingBackend();
    }

    private static TrainerBuilder trainer(GptNeoModel model, int batch, int steps) {
        return Trainer.builder().model(model).data(ArrayTokens.patterned(200_000, 4096, 5)).seqLen(SEQ).steps(steps)
                .batchSize(batch).learningRate(1e-3).seed(1);
    }

    /** Seconds per step, from the trainer's tokens per second. */
    private static List<Double> timed(GptNeoModel model, TrainerBuilder builder) {
        List<Double> seconds = new ArrayList<>();
        builder.listener(new TrainerListener() {
            @Override public void onStep(StepMetrics m) { seconds.add(1 / m.tokensPerSecond()); }
        }).build().fit();
        return seconds;
    }

    private static void report(String what, List<Double> secondsPerToken, int batch, long[] bytes) {
        List<Double> timed = new ArrayList<>(secondsPerToken.subList(1, secondsPerToken.size()));
        timed.sort(null);
        double perToken = timed.get(timed.size() / 2), step = perToken * batch * SEQ;
        System.out.printf(Locale.ROOT, "%-50s %7.3f s/step %9.0f tokens/s", what, step, 1 / perToken);
        if (bytes != null) {
            System.out.printf(Locale.ROOT, "%n%52s per rank and step: all-reduce %,d B, reduce-scatter %,d B, all-gather %,d B;"
                    + " once: broadcast %,d B", "", bytes[0], bytes[1], bytes[2], bytes[3]);
        }
        System.out.println();
    }

    /** A communicator that counts the payload bytes of each kind of collective (input bytes per rank). */
    private static final class Counting implements Communicator {
        private final Communicator inner;
        private final AtomicLong allReduce = new AtomicLong(), reduceScatter = new AtomicLong(), allGather = new AtomicLong(),
                broadcast = new AtomicLong();

        Counting(Communicator inner) {
            this.inner = inner;
        }

        /** Payload bytes per step of all-reduce, reduce-scatter and all-gather, and the broadcast's (once, at the start). */
        long[] perStep(int steps) {
            return new long[] {allReduce.get() / steps, reduceScatter.get() / steps, allGather.get() / steps, broadcast.get()};
        }

        @Override public int rank() { return inner.rank(); }
        @Override public int size() { return inner.size(); }
        @Override public String name() { return inner.name(); }
        @Override public boolean accepts(Tensor t) { return inner.accepts(t); }
        @Override public void allReduce(Tensor b, ReduceOp op) { allReduce.addAndGet(b.data().byteSize()); inner.allReduce(b, op); }
        @Override public void reduceScatter(Tensor in, Tensor out, ReduceOp op) { reduceScatter.addAndGet(in.data().byteSize()); inner.reduceScatter(in, out, op); }
        @Override public void allGather(Tensor in, Tensor out) { allGather.addAndGet(out.data().byteSize()); inner.allGather(in, out); }
        @Override public void broadcast(Tensor b, int root) { broadcast.addAndGet(b.data().byteSize()); inner.broadcast(b, root); }
        @Override public void allToAll(Tensor in, Tensor out) { inner.allToAll(in, out); }
        @Override public void send(Tensor t, int peer) { inner.send(t, peer); }
        @Override public void receive(Tensor t, int peer) { inner.receive(t, peer); }
        @Override public void sendReceive(Tensor out, int d, Tensor in, int s) { inner.sendReceive(out, d, in, s); }
        @Override public void barrier() { inner.barrier(); }
        @Override public Communicator split(int color, int key) { return inner.split(color, key); }
        @Override public void close() { inner.close(); }
    }
}
