package org.gptneo.parallel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class LaunchEnvironmentTest {

    private static LaunchEnvironment env(Map<String, String> variables) {
        return LaunchEnvironment.resolve(Map.of(), variables);
    }

    @Test
    void nothingSetIsASingleProcess() {
        assertThat(env(Map.of())).isEqualTo(new LaunchEnvironment(0, 1, 0, Optional.empty(), OptionalInt.empty(),
                "single process"));
        assertThat(env(Map.of()).distributed()).isFalse();
        assertThat(env(Map.of("SLURM_NTASKS", "4")).launcher())
                .as("an allocation without a job step's rank is not a launch").isEqualTo("single process");
    }

    @Test
    void torchrunNeedsItsFiveVariables() {
        LaunchEnvironment e = env(Map.of("RANK", "3", "WORLD_SIZE", "8", "LOCAL_RANK", "1",
                "MASTER_ADDR", "node0", "MASTER_PORT", "29500"));
        assertThat(e).isEqualTo(new LaunchEnvironment(3, 8, 1, Optional.of("node0"), OptionalInt.of(29500), "torchrun"));
        assertThat(e.rendezvous()).contains("node0:29500");
        assertThat(e.distributed()).isTrue();
        assertThatThrownBy(() -> env(Map.of("RANK", "3", "WORLD_SIZE", "8", "LOCAL_RANK", "1", "MASTER_ADDR", "node0")))
                .hasMessage("torchrun launch (RANK is set): MASTER_PORT is not set");
        assertThatThrownBy(() -> env(Map.of("RANK", "0", "LOCAL_RANK", "0")))
                .hasMessage("torchrun launch (RANK is set): WORLD_SIZE is not set");
    }

    @Test
    void openMpiTakesItsRankVariables() {
        LaunchEnvironment e = env(Map.of("OMPI_COMM_WORLD_RANK", "1", "OMPI_COMM_WORLD_SIZE", "2",
                "OMPI_COMM_WORLD_LOCAL_RANK", "1", "SLURM_PROCID", "0", "SLURM_NTASKS", "1", "SLURM_LOCALID", "0"));
        assertThat(e).isEqualTo(new LaunchEnvironment(1, 2, 1, Optional.empty(), OptionalInt.empty(), "Open MPI"));
        assertThat(e.rendezvous()).isEmpty();
        assertThatThrownBy(() -> env(Map.of("OMPI_COMM_WORLD_RANK", "1", "OMPI_COMM_WORLD_SIZE", "2")))
                .hasMessage("Open MPI launch (OMPI_COMM_WORLD_RANK is set): OMPI_COMM_WORLD_LOCAL_RANK is not set");
    }

    @Test
    void openMpiWithAMasterAddressGivesNcclItsRendezvous() {
        LaunchEnvironment e = env(Map.of("OMPI_COMM_WORLD_RANK", "0", "OMPI_COMM_WORLD_SIZE", "2",
                "OMPI_COMM_WORLD_LOCAL_RANK", "0", "MASTER_ADDR", "fe80::1", "MASTER_PORT", "6000"));
        assertThat(e.rendezvous()).contains("[fe80::1]:6000");
        assertThatThrownBy(() -> env(Map.of("OMPI_COMM_WORLD_RANK", "0", "OMPI_COMM_WORLD_SIZE", "2",
                "OMPI_COMM_WORLD_LOCAL_RANK", "0", "MASTER_ADDR", "node0")))
                .hasMessage("Open MPI launch (OMPI_COMM_WORLD_RANK is set): MASTER_ADDR is set but MASTER_PORT is not");
    }

    @Test
    void pmiAndSlurm() {
        assertThat(env(Map.of("PMI_RANK", "2", "PMI_SIZE", "4", "MPI_LOCALRANKID", "0")))
                .isEqualTo(new LaunchEnvironment(2, 4, 0, Optional.empty(), OptionalInt.empty(), "PMI"));
        assertThat(env(Map.of("SLURM_PROCID", "5", "SLURM_NTASKS", "6", "SLURM_LOCALID", "1")))
                .isEqualTo(new LaunchEnvironment(5, 6, 1, Optional.empty(), OptionalInt.empty(), "Slurm"));
        assertThat(env(Map.of("SLURM_PROCID", "5", "SLURM_NPROCS", "6", "SLURM_LOCALID", "1")).worldSize())
                .as("older Slurm").isEqualTo(6);
        assertThatThrownBy(() -> env(Map.of("PMI_RANK", "2", "PMI_SIZE", "4")))
                .hasMessage("PMI launch (PMI_RANK is set): MPI_LOCALRANKID is not set");
    }

    @Test
    void precedenceIsExplicitThenTorchrunThenOpenMpiThenPmiThenSlurm() {
        Map<String, String> all = Map.of("RANK", "1", "WORLD_SIZE", "2", "LOCAL_RANK", "1", "MASTER_ADDR", "a",
                "MASTER_PORT", "1", "OMPI_COMM_WORLD_RANK", "0", "OMPI_COMM_WORLD_SIZE", "4",
                "OMPI_COMM_WORLD_LOCAL_RANK", "0", "PMI_RANK", "3", "PMI_SIZE", "5");
        assertThat(env(all).launcher()).isEqualTo("torchrun");
        LaunchEnvironment explicit = LaunchEnvironment.resolve(
                Map.of(LaunchEnvironment.RANK, "2", LaunchEnvironment.WORLD_SIZE, "3"), all);
        assertThat(explicit).isEqualTo(new LaunchEnvironment(2, 3, 2, Optional.of("a"), OptionalInt.of(1),
                "explicit settings"));
        assertThat(env(Map.of("OMPI_COMM_WORLD_RANK", "0", "OMPI_COMM_WORLD_SIZE", "4", "OMPI_COMM_WORLD_LOCAL_RANK", "0",
                "PMI_RANK", "3", "PMI_SIZE", "5", "MPI_LOCALRANKID", "0")).launcher()).isEqualTo("Open MPI");
    }

    @Test
    void explicitSettingsMayNameTheirOwnRendezvous() {
        LaunchEnvironment e = LaunchEnvironment.resolve(Map.of(LaunchEnvironment.RANK, "0", LaunchEnvironment.WORLD_SIZE,
                "2", LaunchEnvironment.LOCAL_RANK, "0", LaunchEnvironment.MASTER_ADDR, "10.0.0.1",
                LaunchEnvironment.MASTER_PORT, "29400"), Map.of("MASTER_ADDR", "elsewhere", "MASTER_PORT", "1"));
        assertThat(e.rendezvous()).contains("10.0.0.1:29400");
        assertThatThrownBy(() -> LaunchEnvironment.resolve(Map.of(LaunchEnvironment.WORLD_SIZE, "2"), Map.of()))
                .hasMessage("setting gptneo.world-size is given but gptneo.rank is not");
        assertThatThrownBy(() -> LaunchEnvironment.resolve(Map.of(LaunchEnvironment.RANK, "0"), Map.of()))
                .hasMessage("explicit settings (gptneo.rank is given): setting gptneo.world-size is not set");
    }

    @Test
    void contradictionsNameTheVariable() {
        assertThatThrownBy(() -> env(Map.of("OMPI_COMM_WORLD_RANK", "2", "OMPI_COMM_WORLD_SIZE", "2",
                "OMPI_COMM_WORLD_LOCAL_RANK", "0")))
                .hasMessage("Open MPI launch (OMPI_COMM_WORLD_RANK is set): OMPI_COMM_WORLD_RANK=2 is outside a world of 2");
        assertThatThrownBy(() -> env(Map.of("SLURM_PROCID", "0", "SLURM_NTASKS", "2", "SLURM_LOCALID", "-1")))
                .hasMessage("Slurm launch (SLURM_PROCID is set): SLURM_LOCALID=-1 is outside a world of 2");
        assertThatThrownBy(() -> env(Map.of("PMI_RANK", "0", "PMI_SIZE", "0", "MPI_LOCALRANKID", "0")))
                .hasMessage("PMI launch (PMI_RANK is set): the world size is 0, not a positive count");
        assertThatThrownBy(() -> env(Map.of("RANK", "one", "WORLD_SIZE", "2", "LOCAL_RANK", "0")))
                .hasMessage("torchrun launch (RANK is set): RANK=one is not an integer");
        assertThatThrownBy(() -> env(Map.of("RANK", "0", "WORLD_SIZE", "2", "LOCAL_RANK", "0",
                "MASTER_ADDR", "a", "MASTER_PORT", "70000")))
                .hasMessage("torchrun launch (RANK is set): MASTER_PORT=70000 is not a TCP port (1..65535)");
        assertThatThrownBy(() -> env(Map.of("MASTER_PORT", "29500")))
                .hasMessage("MASTER_PORT is set but MASTER_ADDR is not");
    }
}
