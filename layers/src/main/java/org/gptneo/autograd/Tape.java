package org.gptneo.autograd;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * Reverse-mode autograd. Each op computes its value with the {@link Backend} and, when recording
 * and an input needs a gradient, records how to push the output's gradient back to its inputs.
 * {@link #backward(Var)} replays those steps in reverse. Every activation and intermediate gradient
 * lives in the tape's arena and is freed by {@link #close()}: one tape per forward/backward pass.
 */
public final class Tape implements AutoCloseable {
    private final Backend backend;
    private final boolean recording;
    private final Arena arena = Arena.ofShared();
    private final List<Runnable> backwardSteps = new ArrayList<>();

    /** @param recording false for inference: no gradients, nothing kept for a backward pass */
    public Tape(Backend backend, boolean recording) {
        this.backend = backend;
        this.recording = recording;
    }

    public Backend backend() {
        return backend;
    }

    /** A zero-filled F32 tensor that lives as long as this tape. */
    public Tensor allocate(int... shape) {
        return backend.allocate(arena, DType.F32, shape);
    }

    /** A zero-filled tensor of any dtype that lives as long as this tape. */
    public Tensor allocate(DType dtype, int... shape) {
        return backend.allocate(arena, dtype, shape);
    }

    /** Runs every recorded step in reverse, starting from d(loss)/d(loss) = 1 for a one-element loss. */
    public void backward(Var loss) {
        if (!recording) {
            throw new IllegalStateException("backward() on a tape that did not record (inference mode)");
        }
        if (loss.value().size() != 1) {
            throw new IllegalArgumentException("backward() needs a one-element loss, got " + loss.value());
        }
        backend.fill(gradOf(loss), 1f);
        for (int i = backwardSteps.size() - 1; i >= 0; i--) {
            backwardSteps.get(i).run();
        }
        backwardSteps.clear();
    }

    @Override
    public void close() {
        backwardSteps.clear();
        arena.close();
    }

    // ---- ops ---------------------------------------------------------------------------------

    /** A view with another shape (same elements, shared gradient). */
    public Var reshape(Var x, int... shape) {
        return Var.view(x, x.value().reshape(shape));
    }

    /** out = a + b (same shape). */
    public Var add(Var a, Var b) {
        requireSameShape(a, b);
        Var out = result(allocate(a.shape()), a, b);
        backend.add(a.value(), b.value(), out.value());
        record(out, () -> {
            Tensor g = out.grad();
            if (a.requiresGrad()) backend.axpy(1f, g, gradOf(a));
            if (b.requiresGrad()) backend.axpy(1f, g, gradOf(b));
        });
        return out;
    }

    /** A fully connected layer as torch's nn.Linear: y [N, out] = x [N, in] · wᵀ (w [out, in]) + bias [out]. */
    public Var linear(Var x, Var w, Var bias) {
        int outFeatures = w.value().dim(0);
        if (x.value().rank() != 2 || x.value().dim(1) != w.value().dim(1)) {
            throw new IllegalArgumentException("linear: input " + x.value() + " does not fit weight " + w.value());
        }
        Var out = result(allocate(x.value().dim(0), outFeatures), x, w, bias);
        backend.matmul(x.value(), false, w.value(), true, out.value(), 1f, 0f);
        if (bias != null) {
            backend.addBias(out.value(), bias.value());
        }
        record(out, () -> {
            Tensor g = out.grad(); // [N, out]
            if (x.requiresGrad()) backend.matmul(g, false, w.value(), false, gradOf(x), 1f, 1f);  // [N, in]
            if (w.requiresGrad()) backend.matmul(g, true, x.value(), false, gradOf(w), 1f, 1f);   // [out, in]
            if (bias != null && bias.requiresGrad()) backend.addBiasBackward(g, gradOf(bias));
        });
        return out;
    }

    /**
     * Batched product op(a) · op(b) over the last two dimensions; a and b have the same batch
     * dimensions (see {@link Backend#matmul}).
     */
    public Var matmul(Var a, boolean transposeA, Var b, boolean transposeB) {
        Tensor av = a.value(), bv = b.value();
        if (av.rank() != bv.rank() || !Arrays.equals(batchDims(av), batchDims(bv))) {
            throw new IllegalArgumentException("matmul: batch dimensions differ: " + av + " vs " + bv);
        }
        int[] shape = av.shape();
        shape[shape.length - 2] = transposeA ? av.dim(-1) : av.dim(-2);
        shape[shape.length - 1] = transposeB ? bv.dim(-2) : bv.dim(-1);
        Var out = result(allocate(shape), a, b);
        backend.matmul(av, transposeA, bv, transposeB, out.value(), 1f, 0f);
        record(out, () -> {
            Tensor g = out.grad();
            // C = op(A)·op(B): d op(A) = dC·op(B)ᵀ and d op(B) = op(A)ᵀ·dC, transposed back where stored transposed
            if (a.requiresGrad()) {
                if (transposeA) backend.matmul(bv, transposeB, g, true, gradOf(a), 1f, 1f);
                else backend.matmul(g, false, bv, !transposeB, gradOf(a), 1f, 1f);
            }
            if (b.requiresGrad()) {
                if (transposeB) backend.matmul(g, true, av, transposeA, gradOf(b), 1f, 1f);
                else backend.matmul(av, !transposeA, g, false, gradOf(b), 1f, 1f);
            }
        });
        return out;
    }

    /** [A, B, C, D] → [A, C, B, D], e.g. [B, T, H, hd] → [B, H, T, hd]. */
    public Var swapMiddle(Var x) {
        Tensor v = x.value();
        if (v.rank() != 4) {
            throw new IllegalArgumentException("swapMiddle needs a rank-4 tensor, got " + v);
        }
        Var out = result(allocate(v.dim(0), v.dim(2), v.dim(1), v.dim(3)), x);
        backend.swapMiddle(v, out.value(), false);
        record(out, () -> backend.swapMiddle(out.grad(), gradOf(x), true));
        return out;
    }

    /** LayerNorm over the last dimension of x [N, C] with gamma, beta [C]. */
    public Var layerNorm(Var x, Var gamma, Var beta, float eps) {
        Tensor xv = x.value();
        int rows = Math.toIntExact(xv.size() / xv.dim(-1));
        Tensor mean = allocate(rows), rstd = allocate(rows);
        Var out = result(allocate(xv.shape()), x, gamma, beta);
        backend.layerNorm(xv, gamma.value(), beta.value(), eps, out.value(), mean, rstd);
        record(out, () -> backend.layerNormBackward(out.grad(), xv, gamma.value(), mean, rstd,
                gradOrScratch(x), gradOrScratch(gamma), gradOrScratch(beta)));
        return out;
    }

    /** gelu_new, the tanh approximation GPT-Neo uses. */
    public Var geluNew(Var x) {
        Var out = result(allocate(x.shape()), x);
        backend.geluNew(x.value(), out.value());
        record(out, () -> backend.geluNewBackward(x.value(), out.grad(), gradOf(x)));
        return out;
    }

    /** Softmax over the last dimension of attention scores [..., T, S] with hidden keys masked out. */
    public Var maskedSoftmax(Var scores, AttentionMask mask) {
        Var out = result(allocate(scores.shape()), scores);
        backend.maskedSoftmax(scores.value(), mask, out.value());
        record(out, () -> backend.softmaxBackward(out.value(), out.grad(), gradOf(scores)));
        return out;
    }

    /** Rows of table [V, C] picked by ids (I32, any shape) → [ids..., C]. */
    public Var embedding(Var table, Tensor ids) {
        int[] shape = Arrays.copyOf(ids.shape(), ids.rank() + 1);
        shape[ids.rank()] = table.value().dim(1);
        Var out = result(allocate(shape), table);
        backend.embedding(table.value(), ids, out.value());
        record(out, () -> backend.embeddingBackward(ids, out.grad(), gradOf(table)));
        return out;
    }

    /**
     * Inverted dropout with probability p: zeroes elements and scales the rest by 1/(1 − p). The mask
     * depends only on the seed and the element index. Identity when p is 0.
     */
    public Var dropout(Var x, float p, long seed) {
        if (p == 0f) {
            return x;
        }
        Tensor mask = allocate(x.shape());
        backend.dropoutMask(mask, p, seed);
        Var out = result(allocate(x.shape()), x);
        backend.mul(x.value(), mask, out.value());
        record(out, () -> {
            Tensor scratch = allocate(x.shape());
            backend.mul(out.grad(), mask, scratch);
            backend.axpy(1f, scratch, gradOf(x));
        });
        return out;
    }

    /**
     * Mean cross-entropy of logits [N, V] against targets [N] (I32), skipping targets equal to
     * ignoreIndex; a one-element result. NaN when every target is ignored, as in PyTorch.
     */
    public Var crossEntropyMean(Var logits, Tensor targets, int ignoreIndex) {
        Tensor lv = logits.value();
        if (lv.rank() != 2 || lv.dim(0) != targets.size()) {
            throw new IllegalArgumentException("cross-entropy: logits " + lv + " do not match targets " + targets);
        }
        Var out = result(allocate(1), logits);
        backend.crossEntropyMean(lv, targets, ignoreIndex, out.value());     // stays on the device
        record(out, () -> backend.crossEntropyMeanBackward(lv, targets, ignoreIndex, out.grad(), gradOf(logits)));
        return out;
    }

    /** A user-defined differentiable operation on {@code inputs} (see {@link Differentiable}). */
    public Var apply(Differentiable op, Var... inputs) {
        Tensor[] values = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) values[i] = inputs[i].value();
        Var out = result(op.forward(this, values), inputs);
        record(out, () -> {
            Tensor[] grads = new Tensor[inputs.length];
            for (int i = 0; i < inputs.length; i++) grads[i] = inputs[i].requiresGrad() ? gradOf(inputs[i]) : null;
            op.backward(this, values, out.value(), out.grad(), grads);
        });
        return out;
    }

    // ---- plumbing ----------------------------------------------------------------------------

    private Var result(Tensor value, Var... inputs) {
        boolean needsGrad = false;
        for (Var in : inputs) {
            needsGrad |= in != null && in.requiresGrad();
        }
        return Var.intermediate(value, recording && needsGrad);
    }

    private void record(Var out, Runnable step) {
        if (out.requiresGrad()) {
            backwardSteps.add(() -> {
                if (out.grad() != null) step.run();
            });
        }
    }

    private Tensor gradOf(Var v) {
        return v.gradForAccumulation(backend, arena);
    }

    /** The gradient of v, or a throw-away buffer when v needs none (kernels that write several grads). */
    private Tensor gradOrScratch(Var v) {
        return v.requiresGrad() ? gradOf(v) : allocate(v.shape());
    }

    private static int[] batchDims(Tensor t) {
        return Arrays.copyOf(t.shape(), t.rank() - 2);
    }

    private static void requireSameShape(Var a, Var b) {
        if (!a.value().sameShape(b.value())) {
            throw new IllegalArgumentException("shapes differ: " + a.value() + " vs " + b.value());
        }
    }
}
