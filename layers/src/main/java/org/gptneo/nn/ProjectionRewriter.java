package org.gptneo.nn;

/**
 * Replaces a layer's projections: given the projection's name prefix (for example
 * {@code transformer.h.0.attn.attention.q_proj.}) and the projection, returns it unchanged or a
 * projection that wraps it (a LoRA adapter, a tensor-parallel split).
 */
@FunctionalInterface
public interface ProjectionRewriter {
    Projection rewrite(String prefix, Projection current);
}
