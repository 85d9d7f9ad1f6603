package org.gptneo.backend.conformance;

import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** The oracle's own backward kernels against finite differences of its forward kernels. */
class ReferenceBackendGradientTest {
    @TestFactory
    Stream<DynamicTest> backwardKernelsGiveTheGradients() {
        return BackendConformance.tests(ReferenceBackend::new, BackendConformance.gradientCases());
    }
}
