package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoCommandTest {
    @Test
    void aShortRunLowersThePerplexitySavesReloadsAndPlots(@TempDir Path out) {
        Cli r = Cli.run("demo", "--steps", "30", "--seed", "3", "--out", out.toString());
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).containsPattern("before: held-out perplexity \\d+\\.\\d")
                .containsPattern("after 30 steps \\(\\d+ s, \\d+ tokens/s\\): held-out perplexity \\d+\\.\\d \\(was \\d+\\.\\d\\)")
                .contains("(the same)", "loss.png");
        assertThat(r.err()).contains("step 30/30");                   // plain progress lines: the test's stderr is no terminal
        assertThat(out.resolve("model").resolve("model.safetensors")).isRegularFile();
        assertThat(out.resolve("checkpoint-30")).isDirectory();
        assertThat(out.resolve("loss.png")).isRegularFile();
        assertThat(out.resolve("harbour-stories.txt.tokens.arrow")).isRegularFile();
    }

    @Test
    void theCorpusIsTheSameForTheSameSeed() {
        assertThat(DemoCorpus.generate(1, 5)).isEqualTo(DemoCorpus.generate(1, 5)).isNotEqualTo(DemoCorpus.generate(2, 5));
    }
}
