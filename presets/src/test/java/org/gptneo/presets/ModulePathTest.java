package org.gptneo.presets;

import static org.assertj.core.api.Assertions.assertThat;

import org.gptneo.autograd.Tape;
import org.gptneo.model.GptNeoModel;
import org.junit.jupiter.api.Test;

/**
 * These tests run on the module path (see this module's pom.xml): the presets module and the layers
 * it requires are named modules here, so a missing export or requires fails the build.
 */
class ModulePathTest {

    @Test
    void runsInsideTheNamedModulesAndBuildsAndRunsAModelThroughLayersExports() {
        assertThat(ModulePathTest.class.getModule().getName()).isEqualTo("org.gptneo.presets");
        assertThat(GptNeoModel.class.getModule().getName()).isEqualTo("org.gptneo.layers");
        assertThat(GptNeoModel.class.getModule().getDescriptor().requires())
                .noneMatch(r -> r.name().startsWith("com.fasterxml") || r.name().equals("jtokkit"));
        try (GptNeoModel model = Preset.GPT_NEO_125M.builder().layers(2).hiddenSize(16).heads(2).vocabSize(32)
                .contextLength(8).build();
             Tape tape = new Tape(model.backend(), false)) {
            var ids = tape.allocate(org.gptneo.tensor.DType.I32, 1, 4);
            assertThat(model.forward(tape, ids, false).value().shape()).containsExactly(1, 4, 32);
        }
    }
}
