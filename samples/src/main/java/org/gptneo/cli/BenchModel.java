package org.gptneo.cli;

import java.util.Locale;
import org.gptneo.backend.Backend;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.io.LoadOptions;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.DType;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/**
 * The model a {@code gptneo bench} measurement runs: --model's weights, or random (seeded) weights of
 * --preset/--config (the work is the same), with the weight matrices in --dtype.
 */
final class BenchModel {
    @ArgGroup(exclusive = true, multiplicity = "1")
    ModelSource source;

    @Option(names = "--dtype", paramLabel = "f32|bf16", defaultValue = "f32",
            description = "The weight matrices' and embeddings' dtype in memory (default: ${DEFAULT-VALUE}).")
    String dtype;

    DType dtype(BenchRuns runs) {
        return switch (dtype.toLowerCase(Locale.ROOT)) {
            case "f32" -> DType.F32;
            case "bf16" -> DType.BF16;
            default -> {
                runs.require(false, "--dtype must be f32 or bf16, got '" + dtype + "'");
                yield DType.F32;
            }
        };
    }

    GptNeoConfig config() {
        return source.config();
    }

    /** The model on {@code backend}, which the caller keeps owning. */
    GptNeoModel load(Backend backend, DType weights) {
        if (source.isRandom()) {
            if (weights != DType.F32) {
                throw new IllegalArgumentException("random weights (--preset, --config) are F32: --dtype needs --model");
            }
            return source.config().toBuilder().build(backend);
        }
        return HfCheckpoint.load(source.model, backend, LoadOptions.defaults().withDtype(weights));
    }
}
