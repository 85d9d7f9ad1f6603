package org.gptneo.parallel.mpi;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The lost-rank watch with real processes standing in for ranks, and the process exit captured. */
class PeerWatchTest {
    private final ByteArrayOutputStream errors = new ByteArrayOutputStream();
    private final PrintStream err = new PrintStream(errors, true, StandardCharsets.UTF_8);
    private final CompletableFuture<Integer> halted = new CompletableFuture<>();
    private Process sleeper;

    @AfterEach
    void stopSleeper() {
        if (sleeper != null) {
            sleeper.destroyForcibly();
        }
    }

    private PeerWatch.Peer startPeer(int rank, String host) throws Exception {
        sleeper = new ProcessBuilder("sleep", "60").start();
        long started = sleeper.info().startInstant().map(Instant::toEpochMilli).orElse(0L);
        return new PeerWatch.Peer(rank, sleeper.pid(), started, host);
    }

    private void kill() throws InterruptedException {
        sleeper.destroyForcibly();
        sleeper.waitFor();
    }

    @Test
    void aRankWhoseProcessExitedOnThisHostIsLost() throws Exception {
        PeerWatch.Peer other = startPeer(1, "node7 pid:[1]");
        PeerWatch watch = new PeerWatch(0, 3, List.of(PeerWatch.self(0, "node7 pid:[1]"), other,
                new PeerWatch.Peer(2, 999_999_999L, 0, "node8 pid:[1]")), 0, err, halted::complete);
        assertThat(watch.lost()).as("rank 2 is on another host: not watched").isEmpty();
        assertThat(watch.describeLost()).isEmpty();
        kill();
        assertThat(watch.lost()).containsExactly(other);
        assertThat(watch.describeLost()).isEqualTo("lost rank 1 (pid " + other.pid() + " on host node7 exited)");
    }

    @Test
    void aPidNowHeldByAnotherProcessIsLost() {
        PeerWatch.Peer me = PeerWatch.self(0, "h");
        PeerWatch.Peer reused = new PeerWatch.Peer(1, me.pid(), me.startMillis() - 5_000, "h");
        assertThat(new PeerWatch(0, 2, List.of(me, reused), 0, err, halted::complete).lost()).containsExactly(reused);
    }

    @Test
    void theWatchEndsTheProcessNamingTheLostRankAndTheCall() throws Exception {
        PeerWatch.Peer other = startPeer(1, "h");
        PeerWatch watch = new PeerWatch(0, 2, List.of(PeerWatch.self(0, "h"), other), 0, err, halted::complete);
        watch.start();
        watch.enter("allReduce");
        kill();
        assertThat(halted.get(10, TimeUnit.SECONDS)).isEqualTo(PeerWatch.EXIT_STATUS);
        assertThat(errors.toString(StandardCharsets.UTF_8)).isEqualTo("gptneo mpi: rank 0 of 2 lost rank 1 (pid "
                + other.pid() + " on host h exited) during allReduce" + System.lineSeparator());
    }

    @Test
    void aCallWaitingLongerThanTheTimeoutEndsTheProcess() throws Exception {
        PeerWatch.Peer other = startPeer(1, "h");
        PeerWatch watch = new PeerWatch(1, 2, List.of(other, PeerWatch.self(1, "h")), 1, err, halted::complete);
        watch.start();
        watch.enter("barrier");
        assertThat(halted.get(10, TimeUnit.SECONDS)).isEqualTo(PeerWatch.EXIT_STATUS);
        assertThat(errors.toString(StandardCharsets.UTF_8)).isEqualTo("gptneo mpi: rank 1 of 2 gave up on barrier after 1 s "
                + "without an answer (no rank on this host was lost; a rank on another host may have failed)"
                + System.lineSeparator());
    }

    @Test
    void aStoppedWatchReportsNothing() throws Exception {
        PeerWatch.Peer other = startPeer(1, "h");
        PeerWatch watch = new PeerWatch(0, 2, List.of(PeerWatch.self(0, "h"), other), 1, err, halted::complete);
        watch.start();
        watch.enter("barrier");
        watch.leave();
        watch.stop();
        kill();
        Thread.sleep(3 * PeerWatch.POLL_MILLIS);
        assertThat(halted).isNotDone();
        assertThat(errors.size()).isZero();
    }
}
