package org.gptneo.backend.cpu;

import java.util.stream.Stream;
import org.gptneo.backend.conformance.BackendConformance;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** The CPU backend passes the conformance kit: every kernel against the reference, every backward kernel against finite differences. */
class CpuBackendConformanceTest {
    @TestFactory
    Stream<DynamicTest> conformsToTheReference() {
        return BackendConformance.tests(CpuBackend::new);
    }
}
