package org.gptneo.parallel;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.gptneo.autograd.Differentiable;
import org.gptneo.autograd.GradientListener;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * One rank's copy of a few parameters of awkward sizes (a "model" for the data-parallel unit tests),
 * and gradients set through a backward pass, as a training step sets them.
 */
final class Replica implements AutoCloseable {
    /** Names and shapes: sizes that straddle small buckets and leave padding for 3 ranks. */
    static final Map<String, int[]> SHAPES = shapes();

    final Arena arena = Arena.ofShared();
    final Map<String, Var> parameters = new LinkedHashMap<>();

    private static Map<String, int[]> shapes() {
        Map<String, int[]> s = new LinkedHashMap<>();
        s.put("h.0.attn.q_proj.weight", new int[] {7, 5});
        s.put("h.0.attn.out_proj.bias", new int[] {5});
        s.put("h.0.ln_1.weight", new int[] {5});
        s.put("h.0.mlp.c_fc.weight", new int[] {11, 3});
        s.put("wte.weight", new int[] {13});
        return s;
    }

    /** Parameters drawn from {@code seed}: equal seeds give equal replicas. */
    Replica(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        SHAPES.forEach((name, shape) -> {
            Tensor t = Tensor.allocate(arena, DType.F32, shape);
            for (long i = 0; i < t.size(); i++) t.setFloat(i, (float) random.nextGaussian());
            parameters.put(name, Var.parameter(t, arena));
        });
    }

    /** This rank's gradients: deterministic values of (rank, step, element); {@code skip} gets none. */
    void backward(Backend backend, int rank, int step, String skip) {
        Var[] inputs = parameters.entrySet().stream().filter(e -> !e.getKey().equals(skip)).map(Map.Entry::getValue).toArray(Var[]::new);
        try (Tape tape = new Tape(backend, true)) {
            Var out = tape.apply(new Differentiable() {
                @Override
                public Tensor forward(Tape t, Tensor[] values) {
                    return t.allocate(1);
                }

                @Override
                public void backward(Tape t, Tensor[] values, Tensor output, Tensor outputGrad, Tensor[] grads) {
                    for (int i = 0; i < grads.length; i++) {
                        for (long j = 0; j < grads[i].size(); j++) {
                            grads[i].setFloat(j, grads[i].getFloat(j) + gradient(rank, step, i, j));
                        }
                    }
                }
            }, inputs);
            tape.backward(out);
        }
    }

    /**
     * The gradients of {@link #backward}, set by a chain of operations, one per parameter in order,
     * so that a backward pass completes them last to first; {@code listener} hears of each.
     */
    void backwardInChain(Backend backend, int rank, int step, String skip, GradientListener listener) {
        try (Tape tape = new Tape(backend, true)) {
            Var x = Var.input(tape.allocate(1));
            int index = 0;
            for (Map.Entry<String, Var> e : parameters.entrySet()) {
                int parameter = index++;
                if (e.getKey().equals(skip)) continue;
                x = tape.apply(new Differentiable() {
                    @Override
                    public Tensor forward(Tape t, Tensor[] values) {
                        return t.allocate(1);
                    }

                    @Override
                    public void backward(Tape t, Tensor[] values, Tensor output, Tensor outputGrad, Tensor[] grads) {
                        t.backend().copy(outputGrad, grads[0]);
                        for (long j = 0; j < grads[1].size(); j++) {
                            grads[1].setFloat(j, grads[1].getFloat(j) + gradient(rank, step, parameter, j));
                        }
                    }
                }, x, e.getValue());
            }
            tape.backward(x, listener);
        }
    }

    static float gradient(int rank, int step, int parameter, long element) {
        return (float) Math.sin(1.7 * rank + 0.3 * step + 2.1 * parameter + 0.37 * element) * (parameter + 1) / 3;
    }

    @Override
    public void close() {
        arena.close();
    }
}
