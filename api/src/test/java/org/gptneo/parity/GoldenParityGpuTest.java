package org.gptneo.parity;

import org.gptneo.backend.Backend;
import org.gptneo.backend.Backends;
import org.gptneo.cuda.testing.RequiresGpu;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link GoldenParityTest}'s checks (logits, loss, every gradient, ten AdamW steps) on the GPU, in F32. */
class GoldenParityGpuTest {
    @RequiresGpu
    @ParameterizedTest(name = "{0} on the GPU")
    @ValueSource(strings = {"tiny_local", "tiny_mlp", "tiny_global", "tiny_window1"})
    void logitsLossGradientsAndAdamWMatchTheReference(String name) {
        try (Backend gpu = Backends.byName("cuda")) {
            GoldenParityTest.checkLogitsLossAndGradients(name, gpu);
            GoldenParityTest.checkTenAdamWSteps(name, gpu);
        }
    }
}
