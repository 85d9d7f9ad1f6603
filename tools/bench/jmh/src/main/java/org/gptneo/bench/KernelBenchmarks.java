package org.gptneo.bench;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.Backend;
import org.gptneo.backend.Backends;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The CPU backend's kernels on the 125M model's shapes, through the public Backend SPI (what the
 * model calls). Times per call; GFLOP/s for a matmul is 2·M·N·K / time.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class KernelBenchmarks {

    /** C [M, N] = A [M, K] · op(B): "MxNxKxT" stores B [N, K] (a weight, the forward), "xN" stores B [K, N]. */
    @State(Scope.Benchmark)
    public static class Matmul {
        @Param({"2048x2048x2048xN", "512x768x768xT", "512x3072x768xT", "512x768x3072xT", "512x50257x768xT", "1x50257x768xT",
            "1x3072x768xT"})
        public String shape;

        Backend backend;
        Arena arena;
        Tensor a, b, c;
        boolean transposeB;

        @Setup(Level.Trial)
        public void setUp() {
            String[] p = shape.split("x");
            int m = Integer.parseInt(p[0]), n = Integer.parseInt(p[1]), k = Integer.parseInt(p[2]);
            transposeB = p[3].equals("T");
            backend = Backends.defaultBackend();
            arena = Arena.ofShared();
            a = random(arena, m, k);
            b = transposeB ? random(arena, n, k) : random(arena, k, n);
            c = Tensor.allocate(arena, DType.F32, m, n);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            arena.close();
            backend.close();
        }
    }

    @Benchmark
    public void matmul(Matmul s) {
        s.backend.matmul(s.a, false, s.b, s.transposeB, s.c, 1f, 0f);
    }

    /** 125M's LayerNorm, gelu_new and causal softmax at T tokens. */
    @State(Scope.Benchmark)
    public static class Layer {
        @Param({"512"})
        public int tokens;

        Backend backend;
        Arena arena;
        Tensor x, out, gamma, beta, mean, rstd, mlp, mlpOut, scores, probs;

        @Setup(Level.Trial)
        public void setUp() {
            backend = Backends.defaultBackend();
            arena = Arena.ofShared();
            x = random(arena, tokens, 768);
            out = Tensor.allocate(arena, DType.F32, tokens, 768);
            gamma = random(arena, 768);
            beta = random(arena, 768);
            mean = Tensor.allocate(arena, DType.F32, tokens);
            rstd = Tensor.allocate(arena, DType.F32, tokens);
            mlp = random(arena, tokens, 3072);
            mlpOut = Tensor.allocate(arena, DType.F32, tokens, 3072);
            scores = random(arena, 12, tokens, tokens);
            probs = Tensor.allocate(arena, DType.F32, 12, tokens, tokens);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            arena.close();
            backend.close();
        }
    }

    @Benchmark
    public void layerNorm(Layer s) {
        s.backend.layerNorm(s.x, s.gamma, s.beta, 1e-5f, s.out, s.mean, s.rstd);
    }

    @Benchmark
    public void geluNew(Layer s) {
        s.backend.geluNew(s.mlp, s.mlpOut);
    }

    @Benchmark
    public void causalSoftmax(Layer s) {
        s.backend.maskedSoftmax(s.scores, AttentionMask.GLOBAL, s.probs);
    }

    static Tensor random(Arena arena, int... shape) {
        Tensor t = Tensor.allocate(arena, DType.F32, shape);
        SplittableRandom random = new SplittableRandom(3);
        float[] values = new float[(int) t.size()];
        for (int i = 0; i < values.length; i++) values[i] = (float) random.nextDouble(-1, 1);
        t.copyFrom(values);
        return t;
    }
}
