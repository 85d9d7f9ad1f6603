package org.gptneo.cli;

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

    @Option(names = "--dtype", paramLabel = LoadDtype.LABEL, defaultValue = "f32", description = LoadDtype.DESCRIPTION)
    String dtype;

    DType dtype(BenchRuns runs) {
        DType named = LoadDtype.named(dtype);
        runs.require(named != null, LoadDtype.error(dtype));
        return named;
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
