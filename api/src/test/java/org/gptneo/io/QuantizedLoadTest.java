package org.gptneo.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import org.gptneo.autograd.Tape;
import org.gptneo.backend.Backend;
import org.gptneo.backend.Backends;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading with {@code LoadOptions.withDtype(DType.Q8)}: which tensors are quantized, from which sources, and how close the logits stay. */
class QuantizedLoadTest {
    private static final int VOCAB = 96;
    private static final LoadOptions Q8 = LoadOptions.defaults().withDtype(DType.Q8);

    private final Backend backend = Backends.defaultBackend();
    @TempDir
    Path dir;

    @AfterEach
    void closeBackend() {
        backend.close();
    }

    /** Hidden size 64: every weight row is two Q8 blocks. */
    private GptNeoModel model(int hidden) {
        return GptNeoBuilder.create().vocabSize(VOCAB).contextLength(16).hiddenSize(hidden).layers(2).heads(2)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(4).initializerRange(0.2f).seed(3).build(backend);
    }

    @Test
    void matricesAreQuantizedOnLoadAndVectorsStayF32() {
        try (GptNeoModel model = model(64)) {
            HfCheckpoint.save(model, dir);
        }
        try (GptNeoModel f32 = HfCheckpoint.load(dir, backend, LoadOptions.defaults());
             GptNeoModel q8 = HfCheckpoint.load(dir, backend, Q8);
             Arena arena = Arena.ofConfined()) {
            f32.parameters().forEach((name, p) -> {
                Tensor quantized = q8.parameters().get(name).value();
                if (p.value().rank() == 2) {
                    assertThat(quantized.dtype()).as(name).isEqualTo(DType.Q8);
                    assertThat(quantized.toFloatArray()).as(name).containsExactly(p.value().to(arena, DType.Q8).toFloatArray());
                } else {
                    assertThat(quantized.dtype()).as(name).isEqualTo(DType.F32);
                    assertThat(quantized.toFloatArray()).as(name).containsExactly(p.value().toFloatArray());
                }
            });
        }
    }

    @Test
    void aQ8ModelComputesWhatItsDequantizedWeightsComputeAndSavesThem() {
        try (GptNeoModel model = model(64)) {
            HfCheckpoint.save(model, dir);
        }
        Path dequantized = dir.resolve("dequantized");
        int[] ids = {5, 17, 3, 90, 42, 42, 7, 0, 61, 12, 33, 80};
        try (GptNeoModel q8 = HfCheckpoint.load(dir, backend, Q8)) {
            HfCheckpoint.save(q8, dequantized);
            try (GptNeoModel f32 = HfCheckpoint.load(dequantized, backend, LoadOptions.defaults())) {
                float[] expected = logits(f32, ids), actual = logits(q8, ids);
                for (int i = 0; i < expected.length; i++) {
                    assertThat(actual[i]).as("logit %d", i).isCloseTo(expected[i], org.assertj.core.data.Offset.offset(1e-5f));
                }
            }
        }
    }

    @Test
    void logitsStayCloseToF32() {
        try (GptNeoModel model = model(64)) {
            HfCheckpoint.save(model, dir);
        }
        int[] ids = {5, 17, 3, 90, 42, 42, 7, 0, 61, 12, 33, 80};
        try (GptNeoModel f32 = HfCheckpoint.load(dir, backend, LoadOptions.defaults());
             GptNeoModel q8 = HfCheckpoint.load(dir, backend, Q8)) {
            float[] exact = logits(f32, ids), quantized = logits(q8, ids);
            double diff = 0, norm = 0;
            for (int i = 0; i < exact.length; i++) {
                diff += (quantized[i] - exact[i]) * (double) (quantized[i] - exact[i]);
                norm += exact[i] * (double) exact[i];
            }
            assertThat(Math.sqrt(diff / norm)).as("relative RMS difference of the logits").isLessThan(0.08).isGreaterThan(0);
        }
    }

    @Test
    void halfPrecisionFilesAreQuantizedThroughAnF32CopyToTheSameBlocks() {
        try (GptNeoModel model = model(64)) {
            HfCheckpoint.save(model, dir, SaveOptions.defaults().withDtype(DType.BF16));
        }
        try (GptNeoModel widened = HfCheckpoint.load(dir, backend, LoadOptions.defaults());
             GptNeoModel q8 = HfCheckpoint.load(dir, backend, Q8);
             Arena arena = Arena.ofConfined()) {
            Tensor wte = widened.parameters().get("transformer.wte.weight").value();
            assertThat(q8.parameters().get("transformer.wte.weight").value().toFloatArray())
                    .containsExactly(wte.to(arena, DType.Q8).toFloatArray());
        }
    }

    @Test
    void rowsThatAreNotWholeBlocksAreNamed() {
        try (GptNeoModel model = model(16)) {
            HfCheckpoint.save(model, dir);
        }
        assertThatThrownBy(() -> HfCheckpoint.load(dir, backend, Q8)).isInstanceOf(CheckpointException.class)
                .hasMessage("model.safetensors: tensor 'transformer.wte.weight' cannot be stored as Q8: Q8 stores rows in blocks"
                        + " of 32 elements: shape [96, 16] needs a last dimension that is a multiple of 32");
    }

    @Test
    void q8IsForInferenceOnly() {
        assertThatThrownBy(() -> LoadOptions.training().withDtype(DType.Q8))
                .hasMessage("Q8 weights are for inference: they cannot be loaded writable (to train, load F32)");
    }

    private static float[] logits(GptNeoModel model, int[] ids) {
        try (Tape tape = new Tape(model.backend(), false)) {
            Tensor input = tape.allocate(DType.I32, 1, ids.length);
            for (int i = 0; i < ids.length; i++) input.setInt(i, ids[i]);
            return model.forward(tape, input, false).value().toFloatArray();
        }
    }
}
