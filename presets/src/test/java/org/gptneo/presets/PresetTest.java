package org.gptneo.presets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PresetTest {

    @ParameterizedTest(name = "{0} has {1} parameters")
    @CsvSource({
            "125M, 125198592",   // released EleutherAI/gpt-neo-125M
            "1.3B, 1315575808",  // released
            "2.7B, 2651307520",  // released
            "350M, 355798016",
            "760M, 760189440",
            "6.7B, 6658011136",
            "13B, 12852771840",
    })
    void parameterCountsMatchTheSpec(String name, long expected) {
        assertThat(Preset.byName(name).builder().config().parameterCount()).isEqualTo(expected);
    }

    @Test
    void parameterCountFollowsTheFormulaForEveryPreset() {
        for (Preset p : Preset.values()) {
            GptNeoConfig c = p.builder().config();
            long d = c.hiddenSize();
            long formula = (50257L + 2048L) * d + c.layers() * (12 * d * d + 10 * d) + 2 * d;
            assertThat(c.parameterCount()).as(p.displayName()).isEqualTo(formula);
        }
        // 175B: (50257 + 2048)·12288 + 96·(12·12288² + 10·12288) + 2·12288
        assertThat(Preset.GPT_175B.builder().config().parameterCount()).isEqualTo(174_600_720_384L);
    }

    @Test
    void releasedShapesAlternateGlobalAndLocalStartingWithGlobal() {
        GptNeoConfig c = Preset.GPT_NEO_2_7B.builder().config();
        assertThat(c.hiddenSize()).isEqualTo(2560);
        assertThat(c.heads()).isEqualTo(20);
        assertThat(c.attentionLayers()).hasSize(32);
        assertThat(c.attentionLayers().get(0)).isEqualTo(AttentionType.GLOBAL);
        assertThat(c.attentionLayers().get(1)).isEqualTo(AttentionType.LOCAL);
        assertThat(Preset.GPT_NEO_6_7B.builder().config().attentionLayers()).containsOnly(AttentionType.GLOBAL);
    }

    @Test
    void aPresetIsAPrefilledBuilder() {
        GptNeoConfig c = Preset.byName("1.3B").builder().layers(12).config();
        assertThat(c.layers()).isEqualTo(12);
        assertThat(c.hiddenSize()).isEqualTo(2048);
        assertThat(c.attentionLayers()).hasSize(12);
    }

    @Test
    void namesAreForgiving() {
        assertThat(Preset.byName("125m")).isEqualTo(Preset.GPT_NEO_125M);
        assertThat(Preset.byName("EleutherAI/gpt-neo-1.3B")).isEqualTo(Preset.GPT_NEO_1_3B);
        assertThat(Preset.byName("GPT_NEO_2_7B")).isEqualTo(Preset.GPT_NEO_2_7B);
        assertThatThrownBy(() -> Preset.byName("9B")).hasMessageContaining("unknown preset '9B'").hasMessageContaining("125M");
    }
}
