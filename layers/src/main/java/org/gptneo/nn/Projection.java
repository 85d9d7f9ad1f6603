package org.gptneo.nn;

import org.gptneo.autograd.Var;

/**
 * A map from [N, in] to [N, out] features: a {@link Linear}, or anything that wraps one (a LoRA
 * adapter adds a low-rank path beside it; a tensor-parallel split computes a slice of it). Layers
 * hold their projections by this type so that they can be wrapped without changing the layer.
 */
public interface Projection extends Module {

    /** y [N, out] for x [N, in]. */
    Var forward(Pass pass, Var x);

    int inFeatures();

    int outFeatures();
}
