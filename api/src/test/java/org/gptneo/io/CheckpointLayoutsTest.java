package org.gptneo.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.util.Map;
import java.util.stream.Stream;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.backend.conformance.ReferenceBackend;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every fixture layout loads and computes the float64 reference's logits (within 1e-4 relative):
 * the reference used the weights exactly as stored (F16/BF16 rounded), and loading widens them
 * exactly to F32, so the F32 bound holds for every storage dtype. A weight used zero-copy is a
 * read-only view of the file's mapping (seen as a plain native segment: {@code PlainSegments});
 * every copy is writable, which is how these tests tell the two apart.
 */
class CheckpointLayoutsTest {
    private final Backend backend = new ReferenceBackend();

    static Stream<Arguments> folders() {
        return Stream.of(
                Arguments.of("st_f32", "F32"),
                Arguments.of("st_f32_head_buffers", "F32"),
                Arguments.of("st_f16_head", "F16"),
                Arguments.of("st_bf16", "BF16"),
                Arguments.of("st_f32_sharded", "F32"),
                Arguments.of("st_bf16_sharded_head_buffers", "BF16"),
                Arguments.of("st_f16_sharded_buffers", "F16"),
                Arguments.of("st_f32_bare", "F32"),
                Arguments.of("st_f32_attention_layers", "F32"),
                Arguments.of("bin_f32", "F32"),
                Arguments.of("bin_f16_sharded", "F16"),
                Arguments.of("bin_bf16_protocol4", "BF16"));
    }

    @ParameterizedTest(name = "{0} ({1}), inference")
    @MethodSource("folders")
    void loadsForInferenceAndMatchesTheReference(String folder, String storedDtype) {
        try (GptNeoModel model = HfCheckpoint.load(CheckpointFixtures.folder(folder), backend, LoadOptions.defaults());
             Arena arena = Arena.ofConfined()) {
            assertThat(model.parameters().values()).allSatisfy(p -> assertThat(p.value().dtype()).isEqualTo(DType.F32));
            assertThat(CheckpointFixtures.relativeError(CheckpointFixtures.logits(model, arena), storedDtype)).isLessThan(1e-4);
        }
    }

    @ParameterizedTest(name = "{0} ({1}), writable")
    @MethodSource("folders")
    void loadsWritableCopiesAndMatchesTheReference(String folder, String storedDtype) {
        try (GptNeoModel model = HfCheckpoint.load(CheckpointFixtures.folder(folder), backend, LoadOptions.training());
             Arena arena = Arena.ofConfined()) {
            for (Var p : model.parameters().values()) {
                assertThat(p.value().data().isReadOnly()).isFalse();
                assertThat(p.value().data().isReadOnly()).isFalse();
            }
            assertThat(CheckpointFixtures.relativeError(CheckpointFixtures.logits(model, arena), storedDtype)).isLessThan(1e-4);
        }
    }

    @Test
    void twoArgumentLoadGivesWritableF32() {
        try (GptNeoModel model = HfCheckpoint.load(CheckpointFixtures.folder("st_f32"), backend)) {
            Tensor wte = model.parameters().get("transformer.wte.weight").value();
            assertThat(wte.data().isReadOnly()).isFalse();
            wte.setFloat(0, 42f);   // writable
            assertThat(wte.getFloat(0)).isEqualTo(42f);
        }
    }

    @Test
    void f32StorageIsUsedZeroCopyForMatricesAndCopiedForVectors() {
        try (GptNeoModel model = HfCheckpoint.load(CheckpointFixtures.folder("st_f32_sharded"), backend, LoadOptions.defaults())) {
            for (Map.Entry<String, Var> e : model.parameters().entrySet()) {
                Tensor t = e.getValue().value();
                boolean matrix = t.rank() == 2;
                assertThat(t.data().isReadOnly()).as("%s is a view of the mapping", e.getKey()).isEqualTo(matrix);
                if (matrix) {
                    assertThat(t.data().isReadOnly()).as(e.getKey()).isTrue();
                }
            }
        }
    }

    @Test
    void bf16StorageWithBf16OptionIsZeroCopyBf16() {
        try (GptNeoModel model = HfCheckpoint.load(CheckpointFixtures.folder("st_bf16"), backend,
                LoadOptions.defaults().withDtype(DType.BF16))) {
            for (Map.Entry<String, Var> e : model.parameters().entrySet()) {
                Tensor t = e.getValue().value();
                boolean matrix = t.rank() == 2;
                assertThat(t.dtype()).as(e.getKey()).isEqualTo(matrix ? DType.BF16 : DType.F32);
                assertThat(t.data().isReadOnly()).as(e.getKey()).isEqualTo(matrix);
            }
            forwardMatchesReference(model, "BF16");
        }
    }

    @Test
    void f32StorageWithBf16OptionKeepsMatricesBf16InMemory() {
        for (LoadOptions options : new LoadOptions[] {LoadOptions.defaults().withDtype(DType.BF16),
                LoadOptions.builder().dtype(DType.BF16).writable(true).build()}) {
            try (GptNeoModel model = HfCheckpoint.load(CheckpointFixtures.folder("st_f32"), backend, options)) {
                for (Map.Entry<String, Var> e : model.parameters().entrySet()) {
                    Tensor t = e.getValue().value();
                    assertThat(t.dtype()).as(e.getKey()).isEqualTo(t.rank() == 2 ? DType.BF16 : DType.F32);
                    assertThat(t.data().isReadOnly()).as(e.getKey()).isFalse();
                }
                forwardMatchesReference(model, "F32_matrices_BF16");
            }
        }
    }

    @Test
    void binAndF16StorageWithBf16OptionAreConvertedCopies() {
        for (String folder : new String[] {"bin_f32", "st_f16_head", "bin_bf16_protocol4"}) {
            try (GptNeoModel model = HfCheckpoint.load(CheckpointFixtures.folder(folder), backend,
                    LoadOptions.defaults().withDtype(DType.BF16))) {
                for (Var p : model.parameters().values()) {
                    assertThat(p.value().dtype()).isEqualTo(p.value().rank() == 2 ? DType.BF16 : DType.F32);
                    assertThat(p.value().data().isReadOnly()).isFalse();
                }
            }
        }
    }

    @Test
    void everyLayoutHoldsTheSameWeightsUpToItsRounding() {
        try (GptNeoModel reference = HfCheckpoint.load(CheckpointFixtures.folder("st_f32"), backend, LoadOptions.defaults())) {
            folders().forEach(args -> {
                String folder = (String) args.get()[0];
                DType stored = DType.valueOf((String) args.get()[1]);
                try (GptNeoModel model = HfCheckpoint.load(CheckpointFixtures.folder(folder), backend, LoadOptions.defaults())) {
                    reference.parameters().forEach((name, p) -> {
                        Tensor expected = p.value();
                        Tensor actual = model.parameters().get(name).value();
                        for (long i = 0; i < expected.size(); i++) {
                            float rounded = switch (stored) {
                                case F16 -> org.gptneo.tensor.HalfFloats.f16ToFloat(
                                        org.gptneo.tensor.HalfFloats.floatToF16(expected.getFloat(i)));
                                case BF16 -> org.gptneo.tensor.HalfFloats.bf16ToFloat(
                                        org.gptneo.tensor.HalfFloats.floatToBf16(expected.getFloat(i)));
                                default -> expected.getFloat(i);
                            };
                            assertThat(actual.getFloat(i)).as("%s[%d] in %s", name, i, folder).isEqualTo(rounded);
                        }
                    });
                }
            });
        }
    }

    /** Runs the forward pass on the BF16 weight matrices and compares with the reference logits. */
    private static void forwardMatchesReference(GptNeoModel model, String expectedKey) {
        try (Arena arena = Arena.ofConfined()) {
            assertThat(CheckpointFixtures.relativeError(CheckpointFixtures.logits(model, arena), expectedKey)).isLessThan(1e-4);
        }
    }

    @Test
    void theDefaultBackendRunsZeroCopyAndBf16Weights() {
        Backend cpu = org.gptneo.backend.Backends.defaultBackend();
        try (GptNeoModel model = HfCheckpoint.load(CheckpointFixtures.folder("st_f32"), cpu, LoadOptions.defaults());
             Arena arena = Arena.ofConfined()) {
            assertThat(CheckpointFixtures.relativeError(CheckpointFixtures.logits(model, arena), "F32")).isLessThan(1e-4);
        }
        try (GptNeoModel model = HfCheckpoint.load(CheckpointFixtures.folder("st_bf16"), cpu,
                LoadOptions.defaults().withDtype(DType.BF16))) {
            assertThat(model.parameters().get("transformer.h.0.mlp.c_fc.weight").value().dtype()).isEqualTo(DType.BF16);
            forwardMatchesReference(model, "BF16");
        }
    }

    @Test
    void closingTheModelReleasesTheMapping() {
        GptNeoModel model = HfCheckpoint.load(CheckpointFixtures.folder("st_f32"), backend, LoadOptions.defaults());
        Tensor wte = model.parameters().get("transformer.wte.weight").value();
        model.close();
        assertThatThrownBy(() -> wte.getFloat(0)).isInstanceOf(IllegalStateException.class);
    }
}
