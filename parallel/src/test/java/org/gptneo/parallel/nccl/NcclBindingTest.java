package org.gptneo.parallel.nccl;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.gptneo.parallel.CommunicatorException;
import org.gptneo.parallel.LaunchEnvironment;
import org.junit.jupiter.api.Test;

/** NCCL without a GPU: the bound symbols, the version, error strings, and the bootstrap's settings. */
class NcclBindingTest {

    private static SymbolLookup installed() {
        assumeTrue(Nccl.library().loaded(), "libnccl.so.2 is not installed here (pip install nvidia-nccl-cu13): "
                + Nccl.library().whyMissing());
        return Nccl.library().lookup().orElseThrow();
    }

    @Test
    void everyBoundSymbolIsExportedByTheInstalledLibrary() {
        SymbolLookup lookup = installed();
        assertThat(Nccl.SYMBOLS).doesNotHaveDuplicates().contains("ncclGetVersion", "ncclGetUniqueId", "ncclCommInitRank",
                "ncclCommSplit", "ncclAllReduce", "ncclReduceScatter", "ncclAllGather", "ncclBroadcast", "ncclSend",
                "ncclRecv", "ncclGroupStart", "ncclGroupEnd", "ncclCommAbort", "ncclGetErrorString", "ncclGetLastError");
        assertThat(Nccl.SYMBOLS).allSatisfy(symbol -> assertThat(lookup.find(symbol)).as(symbol).isPresent());
    }

    @Test
    void versionIsReadWithoutAGpu() {
        installed();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment code = arena.allocate(JAVA_INT);
            assertThat(Nccl.getVersion(code)).isEqualTo(Nccl.SUCCESS);
            assertThat(code.get(JAVA_INT, 0)).isGreaterThanOrEqualTo(21800);
            String version = Nccl.versionText(code.get(JAVA_INT, 0));
            assertThat(version).matches("2\\.\\d+\\.\\d+");
            assertThat(NcclProbe.probe().version()).isEqualTo(version);
            assertThat(NcclProbe.probe().description()).startsWith("NCCL " + version + ": libnccl.so.2 loaded from ");
        }
        assertThat(Nccl.versionText(23007)).isEqualTo("2.30.7");
    }

    @Test
    void errorsAreDescribedInNcclsWords() {
        installed();
        assertThat(Nccl.describe(4)).isEqualTo("invalid argument (run with NCCL_DEBUG=WARN for details) (ncclResult_t 4)");
        assertThatThrownBy(() -> Nccl.check(5, "ncclSend", MemorySegment.NULL)).isInstanceOf(CommunicatorException.class)
                .hasMessageStartingWith("ncclSend failed: ").hasMessageContaining("(ncclResult_t 5)");
    }

    @Test
    void severalRanksWithoutMpiNeedNcclCommId() {
        LaunchEnvironment two = new LaunchEnvironment(1, 2, 1, Optional.of("node0"), OptionalInt.of(29500), "torchrun");
        assertThatThrownBy(() -> NcclCommunicator.requireCommId(two, Map.of()))
                .hasMessage("NCCL_COMM_ID is not set: start every rank with NCCL_COMM_ID=node0:29500 in its environment, "
                        + "or bootstrap NCCL over MPI");
        NcclCommunicator.requireCommId(two, Map.of("NCCL_COMM_ID", "node0:29500"));
        NcclCommunicator.requireCommId(LaunchEnvironment.resolve(Map.of(), Map.of()), Map.of());
    }

    @Test
    void withoutAGpuTheProbeSaysSo() {
        installed();
        NcclProbe probe = NcclProbe.probe();
        assumeTrue(!probe.available(), "a GPU is usable here");
        assertThat(probe.description()).contains("; no usable GPU: ");
    }
}
