package org.gptneo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.gptneo.io.LoadOptions;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoModel;
import org.gptneo.nn.AdamW;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GptNeoTest {
    @TempDir
    Path dir;

    @Test
    void presetsAreBuildersAndCountsNeedNoAllocation() {
        assertThat(GptNeo.preset("2.7B").config().parameterCount()).isEqualTo(2_651_307_520L);
        assertThat(GptNeo.preset("175B").config().hiddenSize()).isEqualTo(12288);
        assertThat(GptNeo.preset("1.3B").layers(12).config().layers()).isEqualTo(12);
    }

    @Test
    void loadIsZeroCopyForInferenceAndWritableForTraining() {
        try (GptNeoModel model = GptNeo.builder().vocabSize(50).contextLength(8).hiddenSize(8).layers(2).heads(2)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(2).build()) {
            model.save(dir);
        }
        try (GptNeoModel inference = GptNeo.load(dir)) {
            assertThat(inference.parameters().get("transformer.wte.weight").value().data().isMapped()).isTrue();
            assertThatThrownBy(() -> new AdamW(inference.backend(), inference.parameters(), AdamW.Settings.defaults()))
                    .hasMessageContaining("read-only").hasMessageContaining("LoadOptions.training()");
        }
        try (GptNeoModel trainable = GptNeo.load(dir, LoadOptions.training());
             AdamW optimizer = new AdamW(trainable.backend(), trainable.parameters(), AdamW.Settings.defaults())) {
            assertThat(optimizer.stepCount()).isZero();
        }
        assertThat(GptNeo.tokenizer(dir).encode("Hello world")).containsExactly(15496, 995);
    }
}
