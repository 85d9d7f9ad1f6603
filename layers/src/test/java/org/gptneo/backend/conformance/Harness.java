package org.gptneo.backend.conformance;

import java.lang.foreign.Arena;
import java.util.Random;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * What one case works with: a random source seeded afresh, a shared arena for its tensors (shared,
 * because a backend's helper threads read and write them; closed when the case ends), the reference
 * side on host tensors and the candidate side on uploads. Inputs are made here as host tensors.
 *
 * <p>{@link #check(String, Tensor, Kernel)} and friends run one kernel call on both sides, each on
 * its own copy of the starting outputs (kernels may read them: beta, accumulation), reference first,
 * and compare the candidate's downloaded results with the reference's.
 */
final class Harness implements AutoCloseable {
    /** Float32 results that differ only in summation order and in ≤ 1 ulp of exp/tanh. */
    static final double TOLERANCE = 1e-5;

    /** One kernel call with one output, written once for both sides. */
    @FunctionalInterface
    interface Kernel {
        void run(Side side, Tensor out);
    }

    /** One kernel call with several outputs. */
    @FunctionalInterface
    interface Kernels {
        void run(Side side, Tensor[] outs);
    }

    private final Arena arena = Arena.ofShared();
    private final Random random;
    private final Side reference, candidate;

    Harness(Backend reference, Backend candidate, long seed) {
        this.random = new Random(seed);
        this.reference = Side.reference(reference, arena);
        this.candidate = Side.candidate(candidate, arena);
    }

    Side reference() {
        return reference;
    }

    Side candidate() {
        return candidate;
    }

    Random random() {
        return random;
    }

    // ---- host inputs ---------------------------------------------------------------------------

    /** Standard normal values. */
    Tensor random(int... shape) {
        Tensor t = zeros(shape);
        float[] values = new float[Math.toIntExact(t.size())];
        for (int i = 0; i < values.length; i++) values[i] = (float) random.nextGaussian();
        t.copyFrom(values);
        return t;
    }

    Tensor zeros(int... shape) {
        return Tensor.allocate(arena, DType.F32, shape);
    }

    Tensor constant(float value, int... shape) {
        Tensor t = zeros(shape);
        reference.backend().fill(t, value);
        return t;
    }

    /** {@code t} multiplied by {@code s} in place (a wider spread of inputs), returned. */
    Tensor scaled(Tensor t, float s) {
        reference.backend().scale(t, s);
        return t;
    }

    /** I32 [n] uniform in [0, limit). */
    Tensor ids(int n, int limit) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = random.nextInt(limit);
        return ints(ids, n);
    }

    Tensor ints(int[] values, int... shape) {
        return Tensor.ofInts(arena, values, shape);
    }

    Tensor floats(float[] values, int... shape) {
        return Tensor.of(arena, values, shape);
    }

    /** A copy of host tensor {@code t} in {@code dtype}. */
    Tensor as(DType dtype, Tensor t) {
        return t.to(arena, dtype);
    }

    Tensor allocate(DType dtype, int... shape) {
        return Tensor.allocate(arena, dtype, shape);
    }

    // ---- comparisons -----------------------------------------------------------------------------

    /** The candidate's output within {@link #TOLERANCE} of the reference's. */
    void check(String what, Tensor start, Kernel kernel) {
        Tensor[][] results = both(new Tensor[] {start}, (side, outs) -> kernel.run(side, outs[0]));
        Expect.close(results[1][0], results[0][0], TOLERANCE, what);
    }

    /** Every output within {@link #TOLERANCE}; {@code whats} names them. Answers the reference's outputs. */
    Tensor[] check(String[] whats, Tensor[] starts, Kernels kernels) {
        Tensor[][] results = both(starts, kernels);
        for (int i = 0; i < starts.length; i++) Expect.close(results[1][i], results[0][i], TOLERANCE, whats[i]);
        return results[0];
    }

    /** The candidate's output bit for bit the reference's. */
    void checkIdentical(String what, Tensor start, Kernel kernel) {
        Tensor[][] results = both(new Tensor[] {start}, (side, outs) -> kernel.run(side, outs[0]));
        Expect.identical(results[1][0], results[0][0], what);
    }

    /**
     * Runs {@code kernels} on the reference, then on the candidate, each on fresh copies of
     * {@code starts}; returns {reference outputs, candidate outputs in host memory}.
     */
    Tensor[][] both(Tensor[] starts, Kernels kernels) {
        Tensor[] expected = fresh(reference, starts), actual = fresh(candidate, starts);
        kernels.run(reference, expected);
        kernels.run(candidate, actual);
        for (int i = 0; i < actual.length; i++) actual[i] = candidate.host(actual[i]);
        return new Tensor[][] {expected, actual};
    }

    private static Tensor[] fresh(Side side, Tensor[] starts) {
        Tensor[] copies = new Tensor[starts.length];
        for (int i = 0; i < starts.length; i++) copies[i] = side.fresh(starts[i]);
        return copies;
    }

    @Override
    public void close() {
        arena.close();
    }
}
