package org.gptneo.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.stream.Stream;
import org.gptneo.autograd.Tape;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * The checkpoint fixtures of tools/reference/make_checkpoints.py (layers/src/test/resources/checkpoints):
 * one set of tiny GPT-Neo weights (V=23, P=8, d=8, L=2, H=2, global+local, window 3) in many layouts,
 * and expected.safetensors with the float64 reference's logits for fixed ids per storage dtype.
 */
final class CheckpointFixtures {
    private CheckpointFixtures() {}

    static Path root() {
        try {
            return Path.of(CheckpointFixtures.class.getResource("/checkpoints/expected.safetensors").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static Path folder(String name) {
        return root().resolve(name);
    }

    static Path hostile(String name) {
        return root().resolve("hostile").resolve(name);
    }

    /** Copies a fixture folder's files into {@code target} (created). */
    static Path copyFolder(String name, Path target) {
        try {
            Files.createDirectories(target);
            try (Stream<Path> files = Files.list(folder(name))) {
                for (Path f : files.toList()) {
                    Files.copy(f, target.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** logits [B, T, V] of the model for the fixture ids, as a copy in {@code arena}. */
    static Tensor logits(GptNeoModel model, Arena arena) {
        try (SafeTensorsFile expected = SafeTensorsFile.open(root().resolve("expected.safetensors"));
             Tape tape = new Tape(model.backend(), false)) {
            Tensor ids = expected.tensor("ids");
            Tensor input = tape.allocate(DType.I32, ids.shape());
            input.copyFrom(ids);
            return model.forward(tape, input, false).value().to(arena, DType.F32);
        }
    }

    /** max|actual − expected| / max|expected| against expected.safetensors' {@code logits.<key>}. */
    static double relativeError(Tensor actual, String key) {
        try (SafeTensorsFile expected = SafeTensorsFile.open(root().resolve("expected.safetensors"))) {
            Tensor ref = expected.tensor("logits." + key);
            assertThat(actual.shape()).containsExactly(ref.shape());
            double maxDiff = 0, maxRef = 0;
            for (long i = 0; i < ref.size(); i++) {
                maxDiff = Math.max(maxDiff, Math.abs(actual.getFloat(i) - ref.getFloat(i)));
                maxRef = Math.max(maxRef, Math.abs(ref.getFloat(i)));
            }
            return maxDiff / Math.max(maxRef, 1e-12);
        }
    }
}
