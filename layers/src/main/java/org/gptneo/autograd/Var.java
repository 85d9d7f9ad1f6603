package org.gptneo.autograd;

import java.lang.foreign.Arena;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.Tensor;

/**
 * A tensor in the autograd graph: its value and, once a backward pass reaches it, its gradient.
 * A parameter keeps its gradient across steps (in the model's arena); an intermediate value's
 * gradient lives in the {@link Tape}'s arena. A view (from {@link Tape#reshape}) shares both value
 * and gradient memory with its base.
 */
public final class Var {
    private final Tensor value;
    private boolean requiresGrad;          // changes only for parameters (freezing)
    private final Var base;
    private final Arena gradArena;
    private Tensor grad;

    private Var(Tensor value, boolean requiresGrad, Var base, Arena gradArena) {
        this.value = value;
        this.requiresGrad = requiresGrad;
        this.base = base;
        this.gradArena = gradArena;
    }

    /** A trainable tensor whose gradient is kept in {@code gradArena} (allocated on first use). */
    public static Var parameter(Tensor value, Arena gradArena) {
        return new Var(value, true, null, gradArena);
    }

    /** A value that needs no gradient (inputs, frozen weights). */
    public static Var constant(Tensor value) {
        return new Var(value, false, null, null);
    }

    /**
     * A value that needs a gradient without being a parameter: the input of one part of a larger
     * computation (a pipeline stage's received activations). Its gradient lives on the tape whose
     * backward pass reaches it, like an intermediate value's.
     */
    public static Var input(Tensor value) {
        return new Var(value, true, null, null);
    }

    static Var intermediate(Tensor value, boolean requiresGrad) {
        return new Var(value, requiresGrad, null, null);
    }

    static Var view(Var base, Tensor value) {
        return new Var(value, base.requiresGrad, base, null);
    }

    public Tensor value() {
        return value;
    }

    public boolean requiresGrad() {
        return requiresGrad;
    }

    public int[] shape() {
        return value.shape();
    }

    /** The gradient, or null when no backward pass has reached this value yet. */
    public Tensor grad() {
        if (base != null) {
            Tensor baseGrad = base.grad();
            return baseGrad == null ? null : baseGrad.reshape(value.shape());
        }
        return grad;
    }

    /**
     * The gradient, allocated zero-filled on first use: a parameter's in its own arena, any other
     * value's on {@code tape} (which counts both, see {@link Tape#parameterGradientBytes()}).
     */
    Tensor gradForAccumulation(Tape tape) {
        if (base != null) {
            return base.gradForAccumulation(tape).reshape(value.shape());
        }
        if (grad == null) {
            grad = gradArena != null ? tape.allocateParameterGradient(gradArena, value.shape()) : tape.allocate(value.shape());
        }
        return grad;
    }

    /**
     * The trainable parameter whose gradient this value's gradient is (itself, or its base for a view
     * of one), or null for any other value.
     */
    Var trainableParameter() {
        if (base != null) return base.trainableParameter();
        return gradArena != null && requiresGrad ? this : null;
    }

    /**
     * Freezes (false) or unfreezes a parameter. A frozen parameter is a constant to the tape: no
     * gradient is computed or allocated for it, and a gradient it had is dropped.
     */
    public void setTrainable(boolean trainable) {
        if (gradArena == null || base != null) {
            throw new IllegalStateException("only parameters can be frozen or unfrozen, not " + this);
        }
        requiresGrad = trainable;
        if (!trainable) {
            grad = null;
        }
    }

    /** Resets a kept gradient to zero (before the next accumulation). */
    public void zeroGrad(Backend backend) {
        if (grad != null) {
            backend.fill(grad, 0f);
        }
    }

    @Override
    public String toString() {
        return "Var" + value;
    }
}
