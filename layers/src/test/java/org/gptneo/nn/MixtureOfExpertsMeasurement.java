package org.gptneo.nn;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.tensor.Tensor;

/**
 * Measures what one mixture-of-experts layer costs per token as E grows: forward + backward of
 * Σ w·y + aux on the CPU backend for N tokens of width C (experts of width 4·C, relu, eval capacity
 * factor 2, groups of 1024), top-1 and top-2, E = 4, 16, 64; prints the median wall time of the timed
 * steps (the layer made once, parameter gradients kept across steps) and the expert rows (kept
 * assignments). A program, not a test.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -cp layers/target/classes:layers/target/test-classes
 * org.gptneo.nn.MixtureOfExpertsMeasurement [tokens 2048] [width 256] [timed steps 3]}
 */
public final class MixtureOfExpertsMeasurement {
    private MixtureOfExpertsMeasurement() {}

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 2048;
        int c = args.length > 1 ? Integer.parseInt(args[1]) : 256;
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        try (CpuBackend cpu = new CpuBackend()) {
            System.out.printf("N=%d C=%d H=%d, %d CPU threads, median of %d steps after 1 warm-up%n", n, c, 4 * c, cpu.threads(), steps);
            for (int topK : new int[] {1, 2}) {
                for (int experts : new int[] {4, 16, 64}) {
                    Random random = new Random(1);
                    MoeFixture.Weights weights = MoeFixture.randomWeights(random, experts, c, 4 * c, 0.05f, 0.02f);
                    float[] x = MoeFixture.gaussian(random, n * c, 1f), w = MoeFixture.gaussian(random, n * c, 1f);
                    MoeSettings s = MoeFixture.settings(experts, topK, "relu", 1.25f, 2.0f, 1024,
                            SecondExpertPolicy.RANDOM, SecondExpertPolicy.ALL);
                    long[] times = new long[steps];
                    long rows = 0;
                    try (Arena arena = Arena.ofShared()) {                  // the layer is made once, outside the timing
                        MixtureOfExperts moe = MoeFixture.layer(cpu, arena, s, weights, 0);
                        Var xv = Var.parameter(Tensor.of(arena, x, n, c), arena);
                        Var wv = Var.constant(Tensor.of(arena, w, n * c, 1));
                        for (int step = -1; step < steps; step++) {
                            long start = System.nanoTime();
                            try (Tape tape = new Tape(cpu, true)) {
                                Pass pass = new Pass(tape, false, 0);
                                Var y = moe.forward(pass, xv);                                   // [N, C]
                                Var loss = tape.add(tape.reshape(tape.matmul(tape.reshape(y, 1, n * c), false, wv, false), 1),
                                        pass.auxiliary().losses().getFirst());
                                tape.backward(loss);
                                RoutingStats stats = pass.auxiliary().routing().getFirst();
                                rows = stats.assignments() - stats.dropped();
                            }
                            if (step >= 0) times[step] = System.nanoTime() - start;
                        }
                    }
                    Arrays.sort(times);
                    System.out.printf("top-%d E=%3d: %7.1f ms, %6.2f µs/token, expert rows %d (%.2f per token)%n", topK, experts,
                            times[steps / 2] / 1e6, times[steps / 2] / 1e3 / n, rows, (double) rows / n);
                }
            }
        }
    }
}
