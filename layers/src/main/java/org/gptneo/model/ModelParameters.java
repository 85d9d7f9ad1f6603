package org.gptneo.model;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.nn.Parameter;
import org.gptneo.nn.ParameterSource;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/** The {@link ParameterSource}s a model is assembled from: fresh, from tensors, or only recorded. */
final class ModelParameters {
    private ModelParameters() {}

    /** Records names and shapes, allocating nothing. */
    static final ParameterSource SHAPES_ONLY = (name, shape, init, halfPrecisionAllowed) -> Parameter.shapeOnly(name, shape);

    /**
     * Fresh parameters as Hugging Face initialises them, drawn in checkpoint order from one seeded
     * generator on the host and uploaded to the backend (documented transfer; none on the CPU).
     */
    static final class Initializer implements ParameterSource {
        private final Backend backend;
        private final Arena arena;
        private final SplittableRandom random;
        private final float std;

        Initializer(Backend backend, Arena arena, long seed, float std) {
            this.backend = backend;
            this.arena = arena;
            this.random = new SplittableRandom(seed);
            this.std = std;
        }

        @Override
        public Parameter take(String name, int[] shape, Init init, boolean halfPrecisionAllowed) {
            Tensor value;
            if (backend.device().hostAccessible()) {
                value = backend.allocate(arena, DType.F32, shape);
                fill(value, init);
            } else {
                try (Arena staging = Arena.ofConfined()) {
                    Tensor host = Tensor.allocate(staging, DType.F32, shape);
                    fill(host, init);
                    value = backend.upload(host, arena);
                }
            }
            return Parameter.of(name, Var.parameter(value, arena));
        }

        private void fill(Tensor host, Init init) {
            switch (init) {
                case ZEROS -> { }
                case ONES -> {
                    float[] ones = new float[Math.toIntExact(host.size())];
                    Arrays.fill(ones, 1f);
                    host.copyFrom(ones);
                }
                case NORMAL -> {
                    float[] values = new float[Math.toIntExact(host.size())];
                    for (int i = 0; i < values.length; i++) values[i] = (float) (random.nextGaussian() * std);
                    host.copyFrom(values);
                }
            }
        }
    }

    /**
     * Existing tensors of the backend (a loaded checkpoint, possibly mapped read-only), used as
     * they are. Weight matrices and embeddings may be F32, BF16, F16 or Q8; vectors must be F32.
     */
    static final class FromTensors implements ParameterSource {
        private final Map<String, Tensor> tensors;
        private final Arena gradients;

        FromTensors(Map<String, Tensor> tensors, Arena gradients) {
            this.tensors = tensors;
            this.gradients = gradients;
        }

        @Override
        public Parameter take(String name, int[] shape, Init init, boolean halfPrecisionAllowed) {
            Tensor t = tensors.get(name);
            if (t == null) {
                throw new IllegalArgumentException("missing parameter '" + name + "'");
            }
            boolean storage = t.dtype() == DType.BF16 || t.dtype() == DType.F16 || t.dtype() == DType.Q8;
            if (!Arrays.equals(t.shape(), shape) || !(t.dtype() == DType.F32 || halfPrecisionAllowed && storage)) {
                throw new IllegalArgumentException("parameter '" + name + "' is " + t + ", expected F32"
                        + (halfPrecisionAllowed ? " (or BF16/F16/Q8) " : " ") + Arrays.toString(shape));
            }
            return Parameter.of(name, Var.parameter(t, gradients));
        }
    }
}
