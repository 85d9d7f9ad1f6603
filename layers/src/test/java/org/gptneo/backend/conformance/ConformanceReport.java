package org.gptneo.backend.conformance;

import java.util.List;

/**
 * The outcome of running conformance cases on one backend.
 *
 * @param backend  the backend's name
 * @param cases    how many cases ran
 * @param failures the cases that failed, in the order they ran
 */
public record ConformanceReport(String backend, int cases, List<Failure> failures) {

    /** A failed case and what it threw. */
    public record Failure(String caseName, Throwable cause) {
        @Override
        public String toString() {
            return caseName + ": " + cause;
        }
    }

    public ConformanceReport {
        failures = List.copyOf(failures);
    }

    public boolean allPassed() {
        return failures.isEmpty();
    }

    /** Throws one {@link AssertionError} that lists every failing case by name (causes attached as suppressed). */
    public void assertAllPassed() {
        if (allPassed()) {
            return;
        }
        StringBuilder message = new StringBuilder("backend %s fails %d of %d conformance cases:"
                .formatted(backend, failures.size(), cases));
        for (Failure f : failures) message.append("\n  ").append(f);
        AssertionError error = new AssertionError(message.toString());
        for (Failure f : failures) error.addSuppressed(f.cause());
        throw error;
    }
}
