package org.gptneo.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.MachineLimits;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code gptneo bench gemm}: the machine's limits (vector FMA peak, read bandwidth), then F32 matrix
 * products C = op(A)·op(B): 2048³, and the 125M model's linear layers at 512 rows in the three forms
 * training runs them: forward y = x·Wᵀ (W stored [N, K]), input gradient dx = dy·W, weight
 * gradient dW = dyᵀ·x.
 */
@Command(name = "gemm", mixinStandardHelpOptions = true,
        description = {"Measure the FMA peak and read bandwidth, then time F32 matrix products",
            "(2048³ and the 125M model's linear layers, forward and backward). One JSON line each."})
final class BenchGemmCommand implements Callable<Integer> {
    /** (out, in) of 125M's linear layers: attention projections, c_fc, c_proj, the tied LM head. */
    private static final int[][] LINEAR = {{768, 768}, {3072, 768}, {768, 3072}, {50257, 768}};
    private static final int ROWS = 512;

    @Mixin
    BenchRuns runs;

    record Shape(int m, int n, int k, boolean transposeA, boolean transposeB) {}

    static List<Shape> shapes() {
        List<Shape> all = new ArrayList<>(List.of(new Shape(2048, 2048, 2048, false, false)));
        for (int[] layer : LINEAR) {
            int out = layer[0], in = layer[1];
            all.add(new Shape(ROWS, out, in, false, true));    // y [512, out] = x [512, in] · W [out, in]ᵀ
            all.add(new Shape(ROWS, in, out, false, false));   // dx [512, in] = dy [512, out] · W [out, in]
            all.add(new Shape(out, in, ROWS, true, false));    // dW [out, in] = dy [512, out]ᵀ · x [512, in]
        }
        return all;
    }

    @Override
    public Integer call() {
        runs.validate();
        double peak = MachineLimits.fmaPeakGflops(runs.threads(), runs.runs);
        ObjectNode limits = runs.line("limits");
        limits.put("fma_peak_gflops", BenchRuns.round(peak, 1));
        limits.put("read_bandwidth_gb_s", BenchRuns.round(MachineLimits.readBandwidthGbs(runs.threads(), runs.runs), 2));
        runs.print(limits);
        try (Backend backend = runs.backend()) {
            for (Shape s : shapes()) {
                double ms = time(backend, s);
                double gflops = 2.0 * s.m() * s.n() * s.k() / (ms / 1000) / 1e9;
                ObjectNode json = runs.line("gemm");
                json.put("m", s.m());
                json.put("n", s.n());
                json.put("k", s.k());
                json.put("transpose_a", s.transposeA());
                json.put("transpose_b", s.transposeB());
                json.put("ms", BenchRuns.round(ms, 2));
                json.put("gflops", BenchRuns.round(gflops, 1));
                json.put("peak_fraction", BenchRuns.round(gflops / peak, 3));
                runs.print(json);
            }
        }
        return 0;
    }

    private double time(Backend backend, Shape s) {
        try (Arena arena = Arena.ofShared()) {
            Tensor a = random(backend, arena, s.transposeA() ? new int[] {s.k(), s.m()} : new int[] {s.m(), s.k()});
            Tensor b = random(backend, arena, s.transposeB() ? new int[] {s.n(), s.k()} : new int[] {s.k(), s.n()});
            Tensor c = backend.allocate(arena, DType.F32, s.m(), s.n());
            return runs.best(() -> backend.matmul(a, s.transposeA(), b, s.transposeB(), c, 1f, 0f)).ms();
        }
    }

    private static Tensor random(Backend backend, Arena arena, int[] shape) {
        SplittableRandom random = new SplittableRandom(7);
        float[] values = new float[shape[0] * shape[1]];
        for (int i = 0; i < values.length; i++) values[i] = (float) random.nextDouble(-1, 1);
        return backend.upload(Tensor.of(arena, values, shape), arena);
    }
}
