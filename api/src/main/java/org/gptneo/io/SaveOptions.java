package org.gptneo.io;

import java.util.Objects;
import org.gptneo.tensor.DType;

/**
 * How {@link HfCheckpoint#save(org.gptneo.model.GptNeoModel, java.nio.file.Path, SaveOptions)}
 * writes a model folder.
 *
 * <ul>
 *   <li>{@code maxShardBytes}: the most tensor bytes per safetensors file. A model that fits is
 *       written as one {@code model.safetensors}; a larger one as {@code model-00001-of-0000N.safetensors}
 *       … plus {@code model.safetensors.index.json}, filled greedily in parameter order (a single
 *       tensor larger than the limit gets a shard of its own). Default {@link #DEFAULT_MAX_SHARD_BYTES}
 *       = 5 GB (5·10⁹ bytes), Hugging Face's current {@code save_pretrained} default: GPT-Neo 1.3B in
 *       F32 (5.3 GB) becomes 2 shards, 2.7B (10.6 GB) 3 shards.</li>
 *   <li>{@code dtype}: the stored dtype of every tensor, F32 (default), F16 or BF16 (narrowing rounds
 *       to nearest even); config.json's {@code torch_dtype} says which.</li>
 * </ul>
 *
 * @param maxShardBytes at least 1
 * @param dtype         F32, F16 or BF16
 */
public record SaveOptions(long maxShardBytes, DType dtype) {
    /** 5 GB, as Hugging Face's {@code max_shard_size="5GB"}. */
    public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;

    public SaveOptions {
        Objects.requireNonNull(dtype, "dtype");
        if (maxShardBytes < 1) {
            throw new IllegalArgumentException("maxShardBytes must be ≥ 1, got " + maxShardBytes);
        }
        if (dtype == DType.I32) {
            throw new IllegalArgumentException("weights are saved as F32, F16 or BF16, not " + dtype);
        }
    }

    /** 5 GB shards, F32. */
    public static SaveOptions defaults() {
        return new SaveOptions(DEFAULT_MAX_SHARD_BYTES, DType.F32);
    }

    /** One file whatever the size, F32 (what the two-argument save writes). */
    public static SaveOptions unsharded() {
        return new SaveOptions(Long.MAX_VALUE, DType.F32);
    }

    public SaveOptions withMaxShardBytes(long bytes) {
        return new SaveOptions(bytes, dtype);
    }

    public SaveOptions withDtype(DType d) {
        return new SaveOptions(maxShardBytes, d);
    }
}
