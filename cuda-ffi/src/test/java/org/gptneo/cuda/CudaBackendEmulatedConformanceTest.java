package org.gptneo.cuda;

import java.util.function.LongUnaryOperator;
import java.util.stream.Stream;
import org.gptneo.backend.conformance.BackendConformance;
import org.gptneo.cuda.emulator.EmulatedRuntime;
import org.gptneo.cuda.runtime.GemmCall;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The whole CUDA backend (its Java side and every CUDA C kernel, compiled as host C++) through the
 * backend conformance kit, on the emulated runtime: what a GPU adds on top (the real compiler,
 * cuBLAS, concurrency) is checked by the GPU tests. The caching allocator reuses only blocks of the
 * exact size here, so the emulator's guard bytes sit right after each tensor and catch every overrun.
 */
class CudaBackendEmulatedConformanceTest {
    @TestFactory
    Stream<DynamicTest> conformsToTheReference() {
        String why = EmulatedRuntime.unavailableReason();
        if (why != null) {
            throw new IllegalStateException("the kernel emulator needs g++ (apt-get install g++): " + why);
        }
        return BackendConformance.tests(() -> CudaBackend.open(0, EmulatedRuntime::open, GemmCall.Precision.F32,
                LongUnaryOperator.identity()));
    }
}
