package org.gptneo.backend.conformance;

import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The kit on a backend whose tensors the host may not touch: it passes only if every case moves its
 * data through upload and download, as a GPU backend needs.
 */
class OffHostBackendConformanceTest {
    @TestFactory
    Stream<DynamicTest> conformsToTheReference() {
        return BackendConformance.tests(OffHostBackend::new);
    }
}
