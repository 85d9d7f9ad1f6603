package org.gptneo.parallel.mpi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.SymbolLookup;
import java.util.List;
import java.util.Map;
import org.gptneo.parallel.CommunicatorException;
import org.junit.jupiter.api.Test;

class MpiLibraryTest {

    private static MpiLibrary.Found installed() {
        MpiProbe probe = MpiProbe.probe();
        assumeTrue(probe.available(), "no MPI library here: " + probe.description());
        return MpiProbe.load();
    }

    @Test
    void candidatesAreTheOverrideThenOpenMpiMpichAndTheStandardAbi() {
        assertThat(MpiLibrary.candidates(Map.of(), Map.of())).extracting(MpiLibrary.Candidate::target)
                .containsExactly("libmpi.so.40", "libmpich.so.12", "libmpi_abi.so");
        assertThat(MpiLibrary.candidates(Map.of(MpiLibrary.PROPERTY, "/opt/mpi/lib/libmpi.so"),
                Map.of(MpiLibrary.VARIABLE, "/elsewhere/libmpich.so"))).first()
                .isEqualTo(new MpiLibrary.Candidate("/opt/mpi/lib/libmpi.so", MpiLibrary.PROPERTY));
        assertThat(MpiLibrary.candidates(Map.of(), Map.of(MpiLibrary.VARIABLE, " libmpich.so.12 "))).first()
                .isEqualTo(new MpiLibrary.Candidate("libmpich.so.12", MpiLibrary.VARIABLE));
    }

    @Test
    void aLibraryThatDoesNotLoadIsReportedWithTheLoadersText() {
        MpiLibrary.Outcome outcome = MpiLibrary.load(List.of(new MpiLibrary.Candidate("/nonexistent/libmpi.so.40", "test"),
                new MpiLibrary.Candidate("libgptneo-no-such-mpi.so.1", "test")));
        assertThat(outcome.found()).isEmpty();
        assertThat(outcome.whyMissing()).startsWith("no MPI library could be loaded (tried /nonexistent/libmpi.so.40 (test): ")
                .contains("/nonexistent/libmpi.so.40: cannot open shared object file")
                .contains("libgptneo-no-such-mpi.so.1 (test): libgptneo-no-such-mpi.so.1: cannot open shared object file");
    }

    @Test
    void aLibraryThatIsNotMpiIsSkipped() {
        MpiLibrary.Outcome outcome = MpiLibrary.load(List.of(new MpiLibrary.Candidate("libc.so.6", "test")));
        assertThat(outcome.whyMissing()).contains("libc.so.6 (test): MPI_Get_library_version is not exported: not an MPI library");
    }

    @Test
    void theAbiIsToldBySonameSymbolsAndVersion() {
        SymbolLookup none = name -> java.util.Optional.empty();
        assertThat(MpiLibrary.detect("/x/libmpi_abi.so.0", none, "MPICH Version: 4.2")).isEqualTo(MpiAbi.STANDARD);
        assertThat(MpiLibrary.detect("libmpich.so.12", none, "MPICH Version:      4.0.2")).isEqualTo(MpiAbi.MPICH);
        assertThat(MpiLibrary.detect("libmpi.so.12", none, "Intel(R) MPI Library 2021.10 for Linux* OS"))
                .isEqualTo(MpiAbi.MPICH);
        assertThat(MpiLibrary.detect("libmpi.so", none, "MVAPICH2 Version      :	2.3.7")).isEqualTo(MpiAbi.MPICH);
        assertThatThrownBy(() -> MpiLibrary.detect("libmpi.so", none, "Some MPI 1.0"))
                .hasMessage("an MPI library of unknown ABI (neither Open MPI's data symbols nor an MPICH version line): "
                        + "'Some MPI 1.0'");
    }

    @Test
    void openMpiIsDetectedAndItsHandlesAreTheAddressesOfItsDataSymbols() {
        MpiLibrary.Found found = installed();
        assumeTrue(found.abi() == MpiAbi.OPEN_MPI, "the MPI here is " + found.abi());
        assertThat(found.version()).startsWith("Open MPI v");
        MpiAbi.MpiConstants constants = MpiAbi.OPEN_MPI.constants(found.lookup());
        assertThat(constants.handleLayout()).isEqualTo(ADDRESS);
        assertThat(constants.commWorld()).isEqualTo(found.lookup().find("ompi_mpi_comm_world").orElseThrow().address());
        assertThat(constants.typeFloat()).isEqualTo(found.lookup().find("ompi_mpi_float").orElseThrow().address());
        assertThat(List.of(constants.commWorld(), constants.commNull(), constants.typeByte(), constants.typeFloat(),
                constants.opSum(), constants.opMax(), constants.opMin(), constants.errorsReturn()))
                .doesNotHaveDuplicates().allSatisfy(address -> assertThat(address).isNotZero());
        assertThatThrownBy(() -> MpiAbi.OPEN_MPI.constants(name -> java.util.Optional.empty()))
                .hasMessage("the data symbol ompi_mpi_comm_world is missing: not an Open MPI library");
    }

    @Test
    void mpichAndTheStandardAbiAreIntLiteralsAndSmallPointers() {
        MpiAbi.MpiConstants mpich = MpiAbi.MPICH.constants(name -> java.util.Optional.empty());
        assertThat(mpich.handleLayout()).isEqualTo(JAVA_INT);
        assertThat(mpich.commWorld()).isEqualTo(0x44000000L);
        assertThat(mpich.inPlace()).isEqualTo(-1);
        MpiAbi.MpiConstants standard = MpiAbi.STANDARD.constants(name -> java.util.Optional.empty());
        assertThat(standard.handleLayout()).isEqualTo(ADDRESS);
        assertThat(standard.commWorld()).isEqualTo(0x101);
        assertThat(standard.threadMultiple()).isEqualTo(7);
    }

    @Test
    void everyBoundFunctionIsExportedByTheInstalledLibrary() {
        MpiLibrary.Found found = installed();
        Mpi mpi = new Mpi(found.lookup(), found.abi().constants(found.lookup()), found.candidate().target());
        assertThat(mpi.symbols()).doesNotHaveDuplicates().contains("MPI_Init_thread", "MPI_Comm_set_errhandler",
                "MPI_Allreduce", "MPI_Reduce_scatter_block", "MPI_Allgather", "MPI_Bcast", "MPI_Alltoall", "MPI_Send",
                "MPI_Recv", "MPI_Sendrecv", "MPI_Barrier", "MPI_Comm_split", "MPI_Comm_free", "MPI_Error_string",
                "MPI_Finalize");
        assertThat(mpi.symbols()).allSatisfy(symbol -> assertThat(found.lookup().find(symbol)).as(symbol).isPresent());
    }

    @Test
    void theNameShowsTheLibraryAndItsVersion() {
        assertThat(MpiWorld.shortVersion("Open MPI v4.1.4, package: Debian OpenMPI, ident: 4.1.4, repo rev: v4.1.4"))
                .isEqualTo("Open MPI v4.1.4");
        assertThat(MpiWorld.shortVersion("MPICH Version:\t4.0.2")).isEqualTo("MPICH 4.0.2");
        assertThat(MpiWorld.shortVersion("Intel(R) MPI Library 2021.10 for Linux* OS"))
                .isEqualTo("Intel(R) MPI Library 2021.10 for Linux* OS");
    }

    @Test
    void beforeMpiIsInitialisedAnErrorIsOnlyItsCode() {
        MpiLibrary.Found found = installed();
        Mpi mpi = new Mpi(found.lookup(), found.abi().constants(found.lookup()), found.candidate().target());
        assertThatThrownBy(() -> mpi.check(5, "MPI_Barrier")).isInstanceOf(CommunicatorException.class)
                .hasMessage("MPI_Barrier failed: error code 5 (MPI is not initialised, so it cannot describe it)");
    }
}
