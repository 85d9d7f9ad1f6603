package org.gptneo.io;

import java.util.Objects;
import org.gptneo.tensor.DType;

/**
 * How {@link HfCheckpoint#load(java.nio.file.Path, org.gptneo.backend.Backend, LoadOptions)} places
 * weights in memory.
 *
 * <ul>
 *   <li>{@code dtype}: F32 (default), BF16 or Q8, the dtype of the weight matrices and embeddings in
 *       memory. Vectors (biases, LayerNorm) are always F32. Q8 (8-bit blocks with F32 scales,
 *       {@link org.gptneo.tensor.Q8Blocks}) is quantized on load, one tensor at a time, and is for
 *       inference only: it cannot be writable.</li>
 *   <li>{@code writable}: false (default) for inference: matrices whose stored dtype equals
 *       {@code dtype} in a safetensors checkpoint are used zero-copy, as read-only views of the
 *       memory-mapped file, which stays open until the model is closed. true: every parameter is a
 *       fresh off-heap copy that may be trained, and no file stays open.</li>
 * </ul>
 *
 * @param dtype    F32, BF16 or Q8
 * @param writable whether every parameter must be an independent, writable copy
 */
public record LoadOptions(DType dtype, boolean writable) {
    public LoadOptions {
        Objects.requireNonNull(dtype, "dtype");
        if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.Q8) {
            throw new IllegalArgumentException("weights load as F32, BF16 or Q8, not " + dtype);
        }
        if (dtype == DType.Q8 && writable) {
            throw new IllegalArgumentException("Q8 weights are for inference: they cannot be loaded writable (to train, load F32)");
        }
    }

    /** F32, not writable: inference, zero-copy where the file allows. */
    public static LoadOptions defaults() {
        return new LoadOptions(DType.F32, false);
    }

    /** F32, writable: a model that owns its parameters and may be trained. */
    public static LoadOptions training() {
        return new LoadOptions(DType.F32, true);
    }

    public LoadOptions withDtype(DType d) {
        return new LoadOptions(d, writable);
    }

    public LoadOptions withWritable(boolean w) {
        return new LoadOptions(dtype, w);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from {@link #defaults()}. */
    public static final class Builder {
        private DType dtype = DType.F32;
        private boolean writable;

        private Builder() {}

        public Builder dtype(DType d) {
            this.dtype = d;
            return this;
        }

        public Builder writable(boolean w) {
            this.writable = w;
            return this;
        }

        public LoadOptions build() {
            return new LoadOptions(dtype, writable);
        }
    }
}
