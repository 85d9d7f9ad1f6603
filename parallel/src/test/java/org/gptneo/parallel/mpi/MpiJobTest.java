package org.gptneo.parallel.mpi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Real MPI jobs of {@link MpiCheckMain} on this test class path: Open MPI's {@code mpirun -np 2} and
 * {@code -np 4}, every rank running every collective; four processes training tensor × pipeline parallel
 * stages against one device; jobs that lose rank 1 mid-run; a process without a
 * launcher; and, where MPICH is installed too, {@code mpiexec.mpich -n 2} on {@code libmpich.so.12}.
 * Skipped, saying why, where the launcher or the library is missing.
 */
class MpiJobTest {

    /**
     * Open MPI's {@code mpirun} ({@code mpirun.openmpi} where MPICH's may own the plain name) with
     * {@code ranks} processes, as root too and with more ranks than cores; the library found must be Open MPI.
     */
    private static List<String> openMpi(int ranks) {
        Optional<Path> mpirun = onPath("mpirun.openmpi").or(() -> onPath("mpirun"));
        assumeTrue(mpirun.isPresent(), "mpirun is not on the PATH (Debian: apt-get install openmpi-bin)");
        MpiProbe probe = MpiProbe.probe();
        assumeTrue(probe.available(), "no MPI library: " + probe.description());
        assumeTrue(probe.description().contains("(Open MPI ABI)"), "the MPI library found is not Open MPI: "
                + probe.description());
        return List.of(mpirun.get().toString(), "--allow-run-as-root", "--oversubscribe", "-np", String.valueOf(ranks));
    }

    @Test
    void twoRanksWithEveryCallOnTheMpiThreadPassEveryCheck() throws Exception {
        String output = assertAllOk(openMpi(2), 2, "-Dgptneo.mpi.threads=funneled");
        assertThat(output.lines().filter(l -> l.contains(": OK ("))).hasSize(2).allSatisfy(line -> assertThat(line)
                .contains("OK (mpi (Open MPI v").endsWith("; MPI calls on the MPI thread; launched by Open MPI"));
    }

    @Test
    void fourRanksWithThreadMultiplePassEveryCheck() throws Exception {
        String output = assertAllOk(openMpi(4), 4);
        assertThat(output.lines().filter(l -> l.contains(": OK ("))).hasSize(4).allSatisfy(line -> assertThat(line)
                .endsWith("; MPI calls on their callers' threads; launched by Open MPI"));
    }

    @Test
    void fourProcessesTrainTensorParallelPipelineStagesAsOneDevice() throws Exception {
        Job job = run(openMpi(4), javaCommand(List.of("tensor-pipeline")));
        for (int r = 0; r < 4; r++) {
            assertThat(job.output).as(job.output).contains("rank " + r + " of 4: OK tp2 x pp2 as one device (");
        }
        assertThat(job.output).doesNotContain("FAILED");
        assertThat(job.status).as(job.output).isZero();
    }

    @Test
    void twoRanksOfMpichPassEveryCheck() throws Exception {
        Optional<Path> mpiexec = onPath("mpiexec.mpich");
        assumeTrue(mpiexec.isPresent(), "MPICH is not installed (Debian: apt-get install mpich)");
        String output = assertAllOk(List.of(mpiexec.get().toString(), "-n", "2"), 2,
                "-D" + MpiLibrary.PROPERTY + "=" + MpiAbi.MPICH.soname());
        assertThat(output.lines().filter(l -> l.contains(": OK ("))).hasSize(2).allSatisfy(line -> assertThat(line)
                .contains("OK (mpi (MPICH ").endsWith("; launched by PMI"));
        assertThat(output).as("UCX (MPICH's transport here) read UCX_ERROR_SIGNALS: it was set before libmpi loaded UCX")
                .doesNotContain("unused env variable: UCX_ERROR_SIGNALS");
    }

    @Test
    void aProcessStartedWithoutMpirunIsAWorldOfOne() throws Exception {
        Process process = new ProcessBuilder("sh", "-c", javaCommand(List.of("checks"))).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as(output).isTrue();
        assertThat(output).contains("rank 0 of 1: OK (mpi (").contains("; launched by single process");
        assertThat(process.exitValue()).as("exit status after MPI_Finalize in the shutdown hook\n" + output).isZero();
    }

    @Test
    void rankOneHaltingEndsRankZeroWithinAMinuteNamingIt() throws Exception {
        assertRankZeroNamesLostRankOne("halt");
    }

    @Test
    void rankOneDyingOfAnExceptionLeavesAtOnceAndRankZeroNamesIt() throws Exception {
        String output = assertRankZeroNamesLostRankOne("throw");
        assertThat(output).contains("java.lang.IllegalStateException: rank 1 fails on purpose")
                .contains("gptneo mpi: rank 1 of 2 leaves without MPI_Finalize: its thread main died of "
                        + "java.lang.IllegalStateException: rank 1 fails on purpose")
                .contains("exit status of rank 1: 1");
    }

    private static String assertRankZeroNamesLostRankOne(String how) throws Exception {
        // sh reports the exit status of each rank's JVM; mpirun's own status is that of the whole job
        String rank = javaCommand(List.of("lose-rank-1", how)) + "; echo \"exit status of rank $OMPI_COMM_WORLD_RANK: $?\"";
        long start = System.nanoTime();
        Job job = run(openMpi(2), rank);
        double seconds = (System.nanoTime() - start) / 1e9;
        assertThat(seconds).as("seconds until the job ended\n" + job.output).isLessThan(60);
        assertThat(job.output).contains("gptneo mpi: rank 0 of 2 lost rank 1 (pid ")
                .doesNotContain("still running");
        // rank 0's line comes from its watch (status 1) or from its shutdown hook when mpirun stops it first
        // (then its shell may be stopped too, before it reports): either way never a clean exit
        assertThat(job.output.lines()).as(job.output).doesNotContain("exit status of rank 0: 0");
        assertThat(job.status).as(job.output).isNotZero();
        return job.output;
    }

    private static String assertAllOk(List<String> launcher, int ranks, String... options) throws Exception {
        Job job = run(launcher, javaCommand(List.of("checks"), options));
        for (int r = 0; r < ranks; r++) {
            assertThat(job.output).as(job.output).containsPattern("rank " + r + " of " + ranks + ": OK \\(mpi \\(.+\\)\\); "
                    + "errors return: MPI_Send to rank 1000000 failed: (?i).*invalid rank.* \\(error code \\d+\\)");
        }
        assertThat(job.output).doesNotContain("FAILED");
        assertThat(job.status).as(job.output).isZero();
        return job.output;
    }

    private record Job(int status, String output) {}

    /** Runs {@code shellCommand} on every rank of {@code launcher}'s job. */
    private static Job run(List<String> launcher, String shellCommand) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(launcher);
        command.addAll(List.of("sh", "-c", shellCommand));
        Path log = Files.createTempFile("gptneo-mpi-job", ".log");
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!process.waitFor(90, TimeUnit.SECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                throw new AssertionError(launcher.getFirst() + " did not finish within 90 s:\n" + Files.readString(log));
            }
            return new Job(process.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** This JVM's java with {@code options} on this test class path, running {@link MpiCheckMain} with {@code arguments}, as one shell-quoted line. */
    private static String javaCommand(List<String> arguments, String... options) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> words = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "--add-modules",
                "jdk.incubator.vector", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx256m"));
        words.addAll(List.of(options));
        words.addAll(List.of("-cp", System.getProperty("java.class.path"), MpiCheckMain.class.getName()));
        words.addAll(arguments);
        return String.join(" ", words.stream().map(w -> "'" + w.replace("'", "'\\''") + "'").toList());
    }

    private static Optional<Path> onPath(String program) {
        for (String folder : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path candidate = Path.of(folder, program);
            if (!folder.isBlank() && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }
}
