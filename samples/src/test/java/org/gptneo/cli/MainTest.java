package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MainTest {
    @Test
    void versionNamesTheProjectJavaAndBackend() {
        Cli r = Cli.run("--version");
        assertThat(r.exitCode()).isZero();
        assertThat(r.out().lines().toList()).hasSize(3);
        assertThat(r.out()).startsWith("gptneo 0.").doesNotContain("${").contains("Java " + Runtime.version())
                .containsPattern("(?m)^backend \\S+$");
    }

    @Test
    void helpListsTheCommands() {
        Cli r = Cli.run("--help");
        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("demo", "info", "logits", "generate", "tokenize", "detokenize", "convert", "--verbose")
                .containsPattern("(?m)^  bench +Time a training step").containsPattern("(?m)^  init +Write a randomly initialised model");
    }

    @Test
    void usageErrorsExitWithTwo() {
        assertThat(Cli.run("frobnicate").exitCode()).isEqualTo(2);
        assertThat(Cli.run().exitCode()).isEqualTo(2);
        assertThat(Cli.run("info", "--preset", "125M", "--config", "x.yaml").exitCode()).isEqualTo(2);
        assertThat(Cli.run("demo", "--steps", "0").exitCode()).isEqualTo(2);
    }

    @Test
    void failureIsOneLineAndVerboseAddsTheStackTrace() {
        Cli plain = Cli.run("info", "--preset", "999M");
        assertThat(plain.exitCode()).isEqualTo(1);
        assertThat(plain.errLines()).containsExactly("gptneo: unknown preset '999M' (known: 125M, 350M, 760M, 1.3B, 2.7B, 6.7B, 13B, 175B)");
        assertThat(plain.out()).isEmpty();

        Cli verbose = Cli.run("--verbose", "info", "--preset", "999M");
        assertThat(verbose.exitCode()).isEqualTo(1);
        assertThat(verbose.errLines().getFirst()).isEqualTo(plain.errLines().getFirst());
        assertThat(verbose.err()).contains("IllegalArgumentException", "\tat ");

        Cli inherited = Cli.run("info", "--preset", "999M", "--verbose");
        assertThat(inherited.err()).contains("\tat ");
    }

    @Test
    void oneLineFallsBackToTheClassNameAndCutsAtTheFirstLineBreak() {
        assertThat(Main.oneLine(new IllegalStateException())).isEqualTo("IllegalStateException");
        assertThat(Main.oneLine(new RuntimeException("first\nsecond"))).isEqualTo("first");
    }
}
