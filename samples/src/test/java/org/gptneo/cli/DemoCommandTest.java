package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DemoCommandTest {
    @Test
    void aShortRunLowersTheLossAndWrites() {
        long start = System.nanoTime();
        Cli r = Cli.run("demo", "--steps", "40", "--seed", "3");
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).containsPattern("loss \\d+\\.\\d\\d → \\d+\\.\\d\\d over 40 steps in \\d+\\.\\d s \\(\\d+ tokens/s\\)");
        assertThat(r.out()).contains("prompt    \"The keeper \"", "continued \"The keeper ");
        assertThat(r.err()).contains("40/40");  // the progress line
        assertThat((System.nanoTime() - start) / 1e9).isLessThan(60);
    }

    @Test
    void learningRateWarmsUpThenDecaysToATenth() {
        DemoCommand demo = new DemoCommand();
        demo.steps = 100;
        demo.lr = 1f;
        assertThat(demo.learningRate(0)).isEqualTo(0.1f);
        assertThat(demo.learningRate(9)).isEqualTo(1f);
        assertThat(demo.learningRate(99)).isBetween(0.1f, 0.11f);
    }
}
