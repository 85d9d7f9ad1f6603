package org.gptneo.backend.conformance;

import org.gptneo.backend.Backend;

/**
 * One named check of a backend: a few kernel calls on seeded inputs, compared with
 * {@link ReferenceBackend} or with finite differences. {@link #runOn} throws an
 * {@link AssertionError} (or the kernel's exception) when the backend does not conform.
 */
public final class ConformanceCase {
    /** The seed of every kernel case (the one the CPU parity suite used). */
    static final long KERNEL_SEED = 20_240_601;
    /** The seed of every gradient case (the one the backward-kernel gradient suite used). */
    static final long GRADIENT_SEED = 7_340_033;

    /** What a case does with its harness. */
    @FunctionalInterface
    interface Body {
        void run(Harness h);
    }

    private final String name;
    private final long seed;
    private final Body body;

    private ConformanceCase(String name, long seed, Body body) {
        this.name = name;
        this.seed = seed;
        this.body = body;
    }

    /** A case that compares the candidate's kernels with the reference's. */
    static ConformanceCase kernel(String name, Body body) {
        return new ConformanceCase(name, KERNEL_SEED, body);
    }

    /** A case that checks the candidate's backward kernels against finite differences of its forward ones. */
    static ConformanceCase gradient(String name, Body body) {
        return new ConformanceCase(name, GRADIENT_SEED, body);
    }

    /** A unique, readable name ("matmul M=3 N=7 K=17 transposeA=false transposeB=true"). */
    public String name() {
        return name;
    }

    /** Runs the case on {@code candidate} with fresh inputs; the candidate stays open. */
    public void runOn(Backend candidate) {
        try (Harness h = new Harness(new ReferenceBackend(), candidate, seed)) {
            body.run(h);
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
