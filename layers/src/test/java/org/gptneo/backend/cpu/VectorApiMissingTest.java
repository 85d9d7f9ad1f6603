package org.gptneo.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.gptneo.model.GptNeoBuilder;
import org.junit.jupiter.api.Test;

/**
 * On a JVM started without {@code --add-modules jdk.incubator.vector} (the class path's default),
 * building a model says which flag to add instead of dying with NoClassDefFoundError.
 */
class VectorApiMissingTest {

    /** Run in a JVM without the incubator module: prints what building a model and a CPU backend say. */
    public static void main(String[] args) {
        for (Runnable attempt : new Runnable[] {
            () -> GptNeoBuilder.create().vocabSize(8).contextLength(4).hiddenSize(4).layers(2).heads(2).build().close(),
            () -> new CpuBackend().close()}) {
            try {
                attempt.run();
                System.out.println("no error");
            } catch (RuntimeException e) {
                System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }
    }

    @Test
    void withoutTheVectorModuleTheErrorNamesTheFlagToAdd() throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process process = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                VectorApiMissingTest.class.getName()).redirectErrorStream(true).start();
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(output).doesNotContain("NoClassDefFoundError").doesNotContain("no error");
        assertThat(output.lines().filter(l -> l.contains("start java with --add-modules jdk.incubator.vector")))
                .as(output).hasSize(2);
    }
}
