package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.gptneo.GptNeo;
import org.gptneo.autograd.Var;
import org.gptneo.model.GptNeoModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code mpirun -np 4 gptneo train ... --parallel dp=2,pp=2 --zero 1}: four Open MPI processes (data
 * parallelism with its gradients reduce-scattered during the backward pass, ZeRO-1, two pipeline
 * stages) write what one process writes, with its losses (1e-6 relative) and its model (1e-5).
 * Skipped, saying why, where Open MPI's {@code mpirun} is missing.
 */
class TrainCommandMpiTest {
    @TempDir
    Path dir;

    @Test
    void fourOpenMpiProcessesTrainAsOneProcess() throws Exception {
        Optional<Path> mpirun = onPath("mpirun.openmpi").or(() -> onPath("mpirun"));
        assumeTrue(mpirun.isPresent(), "mpirun is not on the PATH (Debian: apt-get install openmpi-bin)");
        Path model = TrainFixtures.twoLayerModelFile(dir);
        Path data = TrainFixtures.text(dir.resolve("data.txt"), 60, 1);
        Path single = dir.resolve("single"), parallel = dir.resolve("mpi");
        Cli one = Cli.run(trainArgs(model, data, single).toArray(String[]::new));
        assertThat(one.exitCode()).as(one.err()).isZero();

        List<String> command = new ArrayList<>(List.of(mpirun.get().toString(), "--allow-run-as-root", "--oversubscribe",
                "-np", "4", "sh", "-c", javaCommand(trainArgs(model, data, parallel, "--parallel", "dp=2,pp=2", "--zero", "1"))));
        Path log = dir.resolve("mpirun.log");
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            throw new AssertionError("mpirun did not finish within 120 s:\n" + Files.readString(log));
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(process.exitValue()).as(output).isZero();
        assertThat(output).contains("on 4 ranks, dp=2 × pp=2 (mpi (Open MPI").contains("ZeRO-1)");

        assertThat(TrainFixtures.files(parallel)).isEqualTo(TrainFixtures.files(single)).contains("model.safetensors", "checkpoint-2/optimizer.safetensors");
        List<Double> want = losses(single), got = losses(parallel);
        assertThat(got).hasSameSizeAs(want);
        for (int i = 0; i < want.size(); i++) assertThat(got.get(i)).as("step %d", i + 1).isCloseTo(want.get(i), within(1e-6 * want.get(i)));
        try (GptNeoModel a = GptNeo.load(single); GptNeoModel b = GptNeo.load(parallel)) {
            Map<String, Var> expected = a.parameters();
            b.parameters().forEach((name, p) -> {
                float[] x = p.value().toFloatArray(), y = expected.get(name).value().toFloatArray();
                for (int j = 0; j < x.length; j++) assertThat((double) x[j]).as(name).isCloseTo(y[j], within(1e-5));
            });
        }
    }

    private static List<String> trainArgs(Path model, Path data, Path out, String... more) {
        List<String> all = new ArrayList<>(List.of("train", "--config", model.toString(), "--data", data.toString(),
                "--steps", "2", "--batch-size", "4", "--seq-len", "16", "--lr", "1e-2", "--accumulate", "2", "--out", out.toString()));
        all.addAll(List.of(more));
        return all;
    }

    private static List<Double> losses(Path out) {
        return TrainFixtures.metrics(out).stream().map(row -> row.get("loss").asDouble()).toList();
    }

    /** This JVM's java running the CLI on this test class path with {@code arguments}, as one shell-quoted line. */
    private static String javaCommand(List<String> arguments) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> words = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
                "--add-opens=java.base/java.nio=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-Xmx512m", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        words.addAll(arguments);
        return String.join(" ", words.stream().map(w -> "'" + w.replace("'", "'\\''") + "'").toList());
    }

    private static Optional<Path> onPath(String program) {
        for (String folder : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path candidate = Path.of(folder, program);
            if (!folder.isBlank() && Files.isExecutable(candidate)) return Optional.of(candidate);
        }
        return Optional.empty();
    }
}
