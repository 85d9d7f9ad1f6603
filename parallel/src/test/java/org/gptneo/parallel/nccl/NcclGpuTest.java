package org.gptneo.parallel.nccl;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.gptneo.cuda.CudaBackend;
import org.gptneo.cuda.runtime.CudaDeviceRuntime;
import org.gptneo.cuda.runtime.GemmCall;
import org.gptneo.cuda.runtime.KernelSources;
import org.gptneo.parallel.CommunicatorChecks;
import org.gptneo.parallel.LaunchEnvironment;
import org.junit.jupiter.api.Test;

/**
 * NCCL on one GPU, one rank (NCCL takes one rank per device, so a single-GPU host cannot run more):
 * every collective of {@link CommunicatorChecks} on device tensors, staged from the host.
 */
class NcclGpuTest {
    @Test
    @RequiresNcclGpu
    void oneRankPassesEveryCheck() {
        try (CudaBackend backend = CudaBackend.open(0, () -> CudaDeviceRuntime.open(0, KernelSources.program()),
                GemmCall.Precision.F32);
             NcclCommunicator nccl = NcclCommunicator.world(backend, LaunchEnvironment.resolve(Map.of(), Map.of()))) {
            assertThat(nccl.rank()).isZero();
            assertThat(nccl.size()).isEqualTo(1);
            assertThat(nccl.name()).isEqualTo("nccl " + NcclProbe.probe().version());
            CommunicatorChecks.runAll(new StagedCommunicator(nccl, backend));
        }
    }
}
