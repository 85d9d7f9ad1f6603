package org.gptneo.backend.conformance;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.gptneo.backend.Backend;
import org.junit.jupiter.api.DynamicTest;

/**
 * The backend conformance kit: every {@link Backend} kernel of a candidate against
 * {@link ReferenceBackend} on seeded random inputs (odd sizes, sizes big enough to split over
 * threads, half-precision weights, padded masks, strided KV-cache views, the index and loss kernels,
 * bad shapes and ids refused), and every backward kernel against finite differences of the
 * candidate's own forward kernel.
 *
 * <p>The kit uses only the backend's public API: inputs are made as host tensors and moved with
 * {@link Backend#upload}, results come back with {@link Backend#download}, and no host accessor is
 * ever called on a candidate's tensor; so it runs unchanged on a backend whose memory the host cannot
 * touch ({@link OffHostBackend}, a GPU). The reference computes on the host tensors themselves.
 *
 * <p>Tolerances: kernels that do the reference's float operations in the reference's order
 * (elementwise arithmetic, copies, dropout, embedding lookups and scatters, index kernels) must
 * match bit for bit; the others within 1e-5 of max-abs-error / max-abs-value (summation order, an
 * ulp of exp or tanh); sums in double within 1e-12 of Σ|x|; gradients within 1e-2 of the largest
 * finite-difference gradient.
 *
 * <h2>Using it for a new backend</h2>
 * Depend on the layers test jar, the kit:
 * <pre>{@code
 * <dependency>
 *   <groupId>org.gptneo</groupId><artifactId>gptneo-layers</artifactId><version>${project.version}</version>
 *   <type>test-jar</type><scope>test</scope>
 * </dependency>
 * }</pre>
 * then either check the backend in one go, which throws one {@link AssertionError} listing every
 * failing case by name:
 * <pre>{@code
 * try (Backend backend = new MyBackend()) {
 *     BackendConformance.check(backend);
 * }
 * }</pre>
 * or let JUnit show each case as its own test (one backend is made for all of them and closed at the end):
 * <pre>{@code
 * @TestFactory
 * Stream<DynamicTest> conformance() {
 *     return BackendConformance.tests(MyBackend::new);
 * }
 * }</pre>
 * The test jar is built by layers/pom.xml (maven-jar-plugin, goal test-jar).
 */
public final class BackendConformance {
    private BackendConformance() {}

    /** Every case: {@link #kernelCases()}, then {@link #gradientCases()}. */
    public static List<ConformanceCase> cases() {
        List<ConformanceCase> all = new ArrayList<>(kernelCases());
        all.addAll(gradientCases());
        return unique(all);
    }

    /** The cases that compare the candidate's kernels with {@link ReferenceBackend}. */
    public static List<ConformanceCase> kernelCases() {
        List<ConformanceCase> cases = new ArrayList<>(MemoryCases.all());
        cases.addAll(MatmulCases.all());
        cases.addAll(ElementwiseCases.all());
        cases.addAll(ReductionCases.all());
        cases.addAll(IndexCases.all());
        cases.addAll(LayoutCases.all());
        cases.addAll(NormActivationCases.all());
        cases.addAll(SoftmaxCases.all());
        cases.addAll(AttentionCases.all());
        cases.addAll(PositionCases.all());
        cases.addAll(LinearAttentionCases.all());
        cases.addAll(EmbeddingLossCases.all());
        cases.addAll(OptimizerCases.all());
        cases.addAll(MoeCases.all());
        return unique(cases);
    }

    /** The cases that check the candidate's backward kernels against finite differences. */
    public static List<ConformanceCase> gradientCases() {
        return unique(GradientCases.all());
    }

    /** Runs every case on {@code candidate} (which stays open) and throws if any fails. */
    public static void check(Backend candidate) {
        run(candidate, cases()).assertAllPassed();
    }

    /** Runs {@code cases} on {@code candidate} (which stays open) and reports which failed. */
    public static ConformanceReport run(Backend candidate, List<ConformanceCase> cases) {
        List<ConformanceReport.Failure> failures = new ArrayList<>();
        for (ConformanceCase c : cases) {
            try {
                c.runOn(candidate);
            } catch (VirtualMachineError e) {
                throw e;
            } catch (Throwable t) {
                failures.add(new ConformanceReport.Failure(c.name(), t));
            }
        }
        return new ConformanceReport(candidate.name(), cases.size(), failures);
    }

    /** Every case as a JUnit dynamic test, on one backend from {@code backend}, closed when JUnit closes the stream. */
    public static Stream<DynamicTest> tests(Supplier<? extends Backend> backend) {
        return tests(backend, cases());
    }

    /** {@code cases} as JUnit dynamic tests, on one backend from {@code backend}, made at the first case. */
    public static Stream<DynamicTest> tests(Supplier<? extends Backend> backend, List<ConformanceCase> cases) {
        OneBackend shared = new OneBackend(backend);
        return cases.stream()
                .map(c -> DynamicTest.dynamicTest(c.name(), () -> runNamed(c, shared.get())))
                .onClose(shared::close);
    }

    /** Runs {@code c}; a failure's message starts with the case's name, for reports that number dynamic tests. */
    private static void runNamed(ConformanceCase c, Backend backend) {
        try {
            c.runOn(backend);
        } catch (AssertionError e) {
            AssertionError named = new AssertionError(c.name() + ": " + e.getMessage(), e.getCause());
            named.setStackTrace(e.getStackTrace());
            throw named;
        }
    }

    private static List<ConformanceCase> unique(List<ConformanceCase> cases) {
        Set<String> names = new HashSet<>();
        for (ConformanceCase c : cases) {
            if (!names.add(c.name())) {
                throw new IllegalStateException("two conformance cases are named " + c.name());
            }
        }
        return List.copyOf(cases);
    }

    /** The backend the dynamic tests share: made on first use, closed once. */
    private static final class OneBackend implements Supplier<Backend>, AutoCloseable {
        private final Supplier<? extends Backend> factory;
        private Backend backend;

        OneBackend(Supplier<? extends Backend> factory) {
            this.factory = factory;
        }

        @Override
        public synchronized Backend get() {
            if (backend == null) {
                backend = factory.get();
            }
            return backend;
        }

        @Override
        public synchronized void close() {
            if (backend != null) {
                backend.close();
                backend = null;
            }
        }
    }
}
