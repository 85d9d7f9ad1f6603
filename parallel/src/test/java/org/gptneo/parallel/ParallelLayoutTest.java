package org.gptneo.parallel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.gptneo.parallel.mpi.LauncherWorld;
import org.junit.jupiter.api.Test;

/** {@code --parallel dp=D,tp=T,pp=P,ep=E}, and how a process knows a launcher started it. */
class ParallelLayoutTest {

    @Test
    void omittedDegreesAreOneInAnyOrder() {
        assertThat(ParallelLayout.parse("dp=4")).isEqualTo(new ParallelLayout(4, 1, 1, 1));
        assertThat(ParallelLayout.parse("pp=2, DP=3,tp=1,ep=1")).isEqualTo(new ParallelLayout(3, 1, 2, 1));
        assertThat(ParallelLayout.parse("dp=2,tp=2,pp=2,ep=2").worldSize()).isEqualTo(16);
    }

    @Test
    void malformedLayoutsAreOneLineErrors() {
        assertThatThrownBy(() -> ParallelLayout.parse("dp2")).hasMessage("--parallel takes dp=D,tp=T,pp=P,ep=E (omitted parts are 1), got 'dp2'");
        assertThatThrownBy(() -> ParallelLayout.parse("dp=2,cp=2")).hasMessageContaining("got 'dp=2,cp=2'");
        assertThatThrownBy(() -> ParallelLayout.parse("dp=x")).hasMessage("--parallel dp must be a whole number, got 'x'");
        assertThatThrownBy(() -> ParallelLayout.parse("dp=2,dp=2")).hasMessage("--parallel gives dp twice in 'dp=2,dp=2'");
        assertThatThrownBy(() -> ParallelLayout.parse("dp=0")).hasMessageContaining("at least 1");
    }

    @Test
    void everythingButExpertParallelismWithTensorOrPipelineParallelismIsAvailable() {
        ParallelLayout.parse("dp=8").requireAvailable();
        ParallelLayout.parse("dp=2,tp=2").requireAvailable();
        ParallelLayout.parse("pp=4").requireAvailable();
        ParallelLayout.parse("dp=2,pp=4").requireAvailable();
        ParallelLayout.parse("dp=2,tp=2,pp=2").requireAvailable();
        ParallelLayout.parse("ep=2").requireAvailable();
        ParallelLayout.parse("dp=2,ep=4").requireAvailable();
        assertThatThrownBy(() -> ParallelLayout.parse("ep=2,tp=2").requireAvailable())
                .hasMessage("expert parallelism together with tensor parallelism is not available yet");
        assertThatThrownBy(() -> ParallelLayout.parse("dp=2,ep=2,pp=2").requireAvailable())
                .hasMessage("expert parallelism together with pipeline parallelism is not available yet");
    }

    @Test
    void theLayoutMustCoverTheLaunchersRanks() {
        ParallelLayout.parse("dp=4").requireWorldSize(4);
        assertThatThrownBy(() -> ParallelLayout.parse("dp=2").requireWorldSize(4))
                .hasMessage("--parallel dp=2,tp=1,pp=1,ep=1 needs 2 ranks, but the launcher started 4");
    }

    @Test
    void aLauncherIsRecognisedByTheVariablesItSets() {
        assertThat(LauncherWorld.launched(Map.of("OMPI_COMM_WORLD_SIZE", "2", "OMPI_COMM_WORLD_RANK", "0"))).isTrue();
        assertThat(LauncherWorld.launched(Map.of("RANK", "1", "WORLD_SIZE", "2", "MASTER_ADDR", "h", "MASTER_PORT", "29500"))).isTrue();
        assertThat(LauncherWorld.launched(Map.of("HOME", "/root"))).isFalse();
        assertThatThrownBy(LauncherWorld::connect).isInstanceOf(CommunicatorException.class)   // this JVM has no launcher
                .hasMessageContaining("start them with mpirun -np N");
    }
}
