package org.gptneo.cuda;

import java.util.stream.Stream;
import org.gptneo.backend.conformance.BackendConformance;
import org.gptneo.cuda.runtime.CudaDeviceRuntime;
import org.gptneo.cuda.testing.RequiresGpu;
import org.gptneo.cuda.runtime.GemmCall;
import org.gptneo.cuda.runtime.KernelSources;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** The conformance kit on a real GPU (F32 GEMMs), every kernel against the scalar reference. */
class CudaBackendGpuConformanceTest {
    @TestFactory
    @RequiresGpu
    Stream<DynamicTest> conformsToTheReferenceOnTheGpu() {
        return BackendConformance.tests(() -> CudaBackend.open(0, () -> CudaDeviceRuntime.open(0, KernelSources.program()),
                GemmCall.Precision.F32));
    }
}
