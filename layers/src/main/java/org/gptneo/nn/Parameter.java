package org.gptneo.nn;

import org.gptneo.autograd.Var;
import org.gptneo.tensor.Tensor;

/**
 * A named, learnable tensor: its Hugging Face path ({@code transformer.h.3.attn.attention.q_proj.weight}),
 * its value and gradient (a {@link Var}), and whether it trains. A frozen parameter takes part in
 * the forward pass as a constant: no gradient is computed or allocated for it, and optimizers skip it.
 */
public final class Parameter {
    private final String name;
    private final int[] shape;
    private final Var var;          // null for a shape-only parameter

    private Parameter(String name, int[] shape, Var var) {
        this.name = name;
        this.shape = shape.clone();
        this.var = var;
    }

    /** A parameter over {@code var}, which must be a {@link Var#parameter}. */
    public static Parameter of(String name, Var var) {
        return new Parameter(name, var.shape(), var);
    }

    /** A name and shape without a tensor: for listing a model's parameters without allocating them. */
    public static Parameter shapeOnly(String name, int[] shape) {
        return new Parameter(name, shape, null);
    }

    public String name() {
        return name;
    }

    /** The value and gradient, as the tape sees them. */
    public Var var() {
        if (var == null) {
            throw new IllegalStateException("parameter '" + name + "' has a shape only, no tensor");
        }
        return var;
    }

    public Tensor value() {
        return var().value();
    }

    /** The gradient, or null when none has been computed (always null while frozen). */
    public Tensor grad() {
        return var().grad();
    }

    public int[] shape() {
        return shape.clone();
    }

    public boolean isTrainable() {
        return var != null && var.requiresGrad();
    }

    /** Freezes ({@code false}) or unfreezes the parameter; freezing drops a gradient it had. */
    public void setTrainable(boolean trainable) {
        var().setTrainable(trainable);
    }

    @Override
    public String toString() {
        return name + " " + (var == null ? java.util.Arrays.toString(shape) : var.value()) + (isTrainable() ? "" : " (frozen)");
    }
}
