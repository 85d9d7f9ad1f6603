package org.gptneo.autograd;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * Reverse-mode autograd. Each op computes its value with the {@link Backend} and, when recording
 * and an input needs a gradient, records how to push the output's gradient back to its inputs.
 * {@link #backward(Var)} replays those steps in reverse. Every activation and intermediate gradient
 * lives in the tape's arena and is freed by {@link #close()} (or handed back to the tape's
 * {@link Workspace}): one tape per forward/backward pass.
 *
 * <p>{@link #checkpoint} runs a segment without keeping its intermediates and recomputes them in
 * the backward pass. The tape counts the bytes it allocates ({@link #allocatedBytes()}), the most
 * that it and its checkpoint sub-tapes held at once ({@link #peakBytes()}), and, apart from those,
 * the parameter gradients its backward passes allocated ({@link #parameterGradientBytes()}).
 */
public final class Tape implements AutoCloseable {
    /** What a tape keeps: nothing (inference), the backward steps, or only which values need a gradient. */
    private enum Mode { INFERENCE, RECORDING, TRACKING }

    private final Backend backend;
    private final Mode mode;
    private final MemoryMeter meter;
    private final Arena arena;
    private final List<Runnable> backwardSteps = new ArrayList<>();
    /**
     * Each trainable parameter an op read, with the number of backward steps recorded before that op:
     * its gradient is complete once the replay has run the step at that index (see {@link GradientListener}).
     */
    private final Map<Var, Integer> firstReads = new LinkedHashMap<>();   // Var: identity equality
    private long allocatedBytes;

    /** @param recording false for inference: no gradients, nothing kept for a backward pass */
    public Tape(Backend backend, boolean recording) {
        this(backend, recording ? Mode.RECORDING : Mode.INFERENCE, new MemoryMeter());
    }

    /** An inference tape whose memory comes from {@code workspace} (a generation loop's steps; see {@link Workspace}). */
    public Tape(Backend backend, Workspace workspace) {
        this(backend, false, workspace);
    }

    /**
     * A tape whose memory comes from {@code workspace}: a generation loop's steps, or a training loop's
     * passes, which allocate the same tensors every time (see {@link Workspace}). A host backend's
     * memory only: a device backend's tensors would outlive the step.
     */
    public Tape(Backend backend, boolean recording, Workspace workspace) {
        this(backend, recording ? Mode.RECORDING : Mode.INFERENCE, new MemoryMeter(), workspace.step());
    }

    /** A checkpoint sub-tape: same backend, its bytes counted with its parent's. */
    private Tape(Backend backend, Mode mode, MemoryMeter meter) {
        this(backend, mode, meter, Arena.ofShared());
    }

    private Tape(Backend backend, Mode mode, MemoryMeter meter, Arena arena) {
        this.backend = backend;
        this.mode = mode;
        this.meter = meter;
        this.arena = arena;
    }

    public Backend backend() {
        return backend;
    }

    /** A zero-filled F32 tensor that lives as long as this tape. */
    public Tensor allocate(int... shape) {
        return allocate(DType.F32, shape);
    }

    /** A zero-filled tensor of any dtype that lives as long as this tape. */
    public Tensor allocate(DType dtype, int... shape) {
        Tensor t = backend.allocate(arena, dtype, shape);
        allocatedBytes += byteSize(t);
        meter.allocated(byteSize(t));
        return t;
    }

    /**
     * An F32 tensor for a result its op writes whole before anything reads it: as {@link #allocate},
     * except that on a workspace of a host backend it is not zeroed first and holds what the last
     * step left there (zeroing a 125M prefill's activations, about 1 MB a token, took a few percent
     * of it on one thread: docs/performance.md, "Results not zeroed").
     */
    private Tensor written(int... shape) {
        if (!(arena instanceof Workspace.StepArena step) || !backend.device().hostAccessible()) return allocate(shape);
        for (int d : shape) {
            if (d < 0) return allocate(shape);   // which names the bad shape
        }
        long bytes = DType.F32.bytes(Tensor.elementCount(shape));
        Tensor t = Tensor.wrap(step.allocateUnzeroed(bytes), DType.F32, shape);
        allocatedBytes += bytes;
        meter.allocated(bytes);
        return t;
    }

    /**
     * I32 {@code values} made on the host and uploaded to the backend (no copy on a host backend),
     * living as long as this tape: indices a layer computed on the host, such as expert routing.
     */
    public Tensor uploadInts(int[] values, int... shape) {
        return upload(Tensor.ofInts(arena, values, shape));
    }

    /** F32 {@code values} made on the host and uploaded, living as long as this tape. */
    public Tensor uploadFloats(float[] values, int... shape) {
        return upload(Tensor.of(arena, values, shape));
    }

    private Tensor upload(Tensor host) {
        Tensor t = backend.upload(host, arena);
        allocatedBytes += byteSize(t);
        meter.allocated(byteSize(t));
        return t;
    }

    /** A parameter's gradient, in the parameter's own arena: counted apart from this tape's bytes. */
    Tensor allocateParameterGradient(Arena gradArena, int[] shape) {
        Tensor g = backend.allocate(gradArena, DType.F32, shape);
        meter.parameterGradientAllocated(byteSize(g));
        return g;
    }

    /** Bytes of the tensors this tape has allocated (activations, intermediate gradients, scratch); kept after close. */
    public long allocatedBytes() {
        return allocatedBytes;
    }

    /**
     * The most bytes this tape and the checkpoint sub-tapes it opened held at once: the activation
     * memory of the pass. Parameter gradients are not included (see {@link #parameterGradientBytes()}).
     */
    public long peakBytes() {
        return meter.peak();
    }

    /**
     * Bytes of parameter gradients first allocated by this tape's backward passes (and its
     * sub-tapes'); they live in the parameters' arena, outlive the tape, and are reused by later
     * steps, so a step whose gradients already exist reports 0.
     */
    public long parameterGradientBytes() {
        return meter.parameterGradients();
    }

    /** Runs every recorded step in reverse, starting from d(loss)/d(loss) = 1 for a one-element loss. */
    public void backward(Var loss) {
        if (mode != Mode.RECORDING) {
            throw new IllegalStateException("backward() on a tape that did not record (inference mode)");
        }
        if (loss.value().size() != 1) {
            throw new IllegalArgumentException("backward() needs a one-element loss, got " + loss.value());
        }
        backend.fill(gradOf(loss), 1f);
        replay(null);
    }

    /**
     * {@link #backward(Var)}, telling {@code listener} when each parameter's gradient is complete: work
     * on the early ones (the last layers') can then overlap the rest of the pass.
     */
    public void backward(Var loss, GradientListener listener) {
        if (mode != Mode.RECORDING) {
            throw new IllegalStateException("backward() on a tape that did not record (inference mode)");
        }
        if (loss.value().size() != 1) {
            throw new IllegalArgumentException("backward() needs a one-element loss, got " + loss.value());
        }
        backend.fill(gradOf(loss), 1f);
        replay(listener);
    }

    /**
     * Runs every recorded step in reverse, starting from {@code outputGradient} [output's shape] as
     * the gradient of {@code output}: the backward pass of one part of a larger computation whose
     * output's gradient is computed elsewhere (a pipeline stage's, received from the next stage).
     * Gradients reach {@link Var#input} leaves and parameters as in {@link #backward(Var)}.
     */
    public void backward(Var output, Tensor outputGradient) {
        if (mode != Mode.RECORDING) {
            throw new IllegalStateException("backward() on a tape that did not record (inference mode)");
        }
        if (!output.requiresGrad() || !outputGradient.sameShape(output.value())) {
            throw new IllegalArgumentException("backward() needs an output that needs a gradient and a gradient of its shape, got "
                    + output + " (" + (output.requiresGrad() ? "" : "no ") + "gradient needed) and " + outputGradient);
        }
        backend.copy(outputGradient, gradOf(output));
        replay(null);
    }

    /** Runs the recorded steps in reverse; after step i, tells {@code listener} (if any) of the parameters first read by it. */
    private void replay(GradientListener listener) {
        Map<Integer, List<Var>> completedBy = listener == null ? Map.of() : completedBySteps(listener);
        for (int i = backwardSteps.size() - 1; i >= 0; i--) {
            backwardSteps.get(i).run();
            List<Var> complete = completedBy.get(i);
            if (complete != null) complete.forEach(listener::completed);
        }
        backwardSteps.clear();
    }

    /** The parameters whose gradients are complete after each step; tells {@code listener} which will complete, in that order. */
    private Map<Integer, List<Var>> completedBySteps(GradientListener listener) {
        List<Map.Entry<Var, Integer>> reads = new ArrayList<>(firstReads.entrySet());
        reads.removeIf(e -> e.getValue() >= backwardSteps.size());      // read by an op that recorded no step
        reads.sort(Comparator.comparing(Map.Entry<Var, Integer>::getValue).reversed());   // stable: ties in reading order
        Map<Integer, List<Var>> completedBy = new HashMap<>();
        reads.forEach(e -> completedBy.computeIfAbsent(e.getValue(), i -> new ArrayList<>()).add(e.getKey()));
        listener.starting(reads.stream().map(Map.Entry::getKey).toList());
        return completedBy;
    }

    @Override
    public void close() {
        backwardSteps.clear();
        firstReads.clear();
        arena.close();
        meter.released(allocatedBytes);
    }

    // ---- activation checkpointing -------------------------------------------------------------

    /**
     * {@code segment.run(tape, input)} with activation checkpointing. The forward pass runs the
     * segment on a sub-tape that keeps nothing for backward and is freed at once: only the output
     * (a copy on this tape) and the input stay. The backward pass runs the segment again on a fresh
     * recording sub-tape, pushes the output's gradient through it (parameter gradients accumulate as
     * usual, frozen parameters get none; the input's gradient adds into {@code input}'s) and frees it.
     * Given a deterministic segment (see {@link Segment}) values and gradients equal those of the
     * plain run bit for bit. On a tape that does not record, it is the plain run.
     */
    public Var checkpoint(Segment segment, Var input) {
        if (mode != Mode.RECORDING) {
            return segment.run(this, input);
        }
        Var out;
        try (Tape scope = new Tape(backend, Mode.TRACKING, meter)) {
            Var result = segment.run(scope, input);
            scope.firstReads.keySet().forEach(p -> firstReads.putIfAbsent(p, backwardSteps.size()));   // read by the recompute step
            out = Var.intermediate(allocate(result.value().dtype(), result.shape()), result.requiresGrad());
            backend.copy(result.value(), out.value());
        }
        record(out, () -> recompute(segment, input, out));
        return out;
    }

    /** The backward step of {@link #checkpoint}: recompute on a sub-tape, then backward through it. */
    private void recompute(Segment segment, Var input, Var out) {
        try (Tape sub = new Tape(backend, Mode.RECORDING, meter)) {
            Var in = Var.constant(input.value());
            if (input.requiresGrad()) {
                gradOf(input);                               // allocated here, so it outlives the sub-tape
                in = Var.view(input, input.value());         // the sub-tape's steps add into input's gradient
            }
            Var result = segment.run(sub, in);
            if (result.grad() == null) {
                backend.copy(out.grad(), sub.gradOf(result));   // the same bits the plain run would hold
            } else {
                backend.axpy(1f, out.grad(), result.grad());    // the output is (a view of) the input
            }
            sub.replay(null);
        }
    }

    // ---- ops ---------------------------------------------------------------------------------

    /** A view with another shape (same elements, shared gradient). */
    public Var reshape(Var x, int... shape) {
        return Var.view(x, x.value().reshape(shape));
    }

    /** out = a + b (same shape). */
    public Var add(Var a, Var b) {
        requireSameShape(a, b);
        Var out = result(written(a.shape()), a, b);
        backend.add(a.value(), b.value(), out.value());
        record(out, () -> {
            Tensor g = out.grad();
            if (a.requiresGrad()) backend.axpy(1f, g, gradOf(a));
            if (b.requiresGrad()) backend.axpy(1f, g, gradOf(b));
        });
        return out;
    }

    /** out = s·x. */
    public Var scale(Var x, float s) {
        Var out = result(written(x.shape()), x);
        backend.copy(x.value(), out.value());
        backend.scale(out.value(), s);
        record(out, () -> backend.axpy(s, out.grad(), gradOf(x)));
        return out;
    }

    /** A fully connected layer as torch's nn.Linear: y [N, out] = x [N, in] · wᵀ (w [out, in]) + bias [out]. */
    public Var linear(Var x, Var w, Var bias) {
        int outFeatures = w.value().dim(0);
        if (x.value().rank() != 2 || x.value().dim(1) != w.value().dim(1)) {
            throw new IllegalArgumentException("linear: input " + x.value() + " does not fit weight " + w.value());
        }
        Var out = result(written(x.value().dim(0), outFeatures), x, w, bias);
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
        Var out = result(written(shape), a, b);
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
        Var out = result(written(v.dim(0), v.dim(2), v.dim(1), v.dim(3)), x);
        backend.swapMiddle(v, out.value(), false);
        record(out, () -> backend.swapMiddle(out.grad(), gradOf(x), true));
        return out;
    }

    /** LayerNorm over the last dimension of x [N, C] with gamma, beta [C]. */
    public Var layerNorm(Var x, Var gamma, Var beta, float eps) {
        Tensor xv = x.value();
        int rows = Math.toIntExact(xv.size() / xv.dim(-1));
        Tensor mean = written(rows), rstd = written(rows);
        Var out = result(written(xv.shape()), x, gamma, beta);
        backend.layerNorm(xv, gamma.value(), beta.value(), eps, out.value(), mean, rstd);
        record(out, () -> backend.layerNormBackward(out.grad(), xv, gamma.value(), mean, rstd,
                gradOrScratch(x), gradOrScratch(gamma), gradOrScratch(beta)));
        return out;
    }

    /** gelu_new, the tanh approximation GPT-Neo uses. */
    public Var geluNew(Var x) {
        Var out = result(written(x.shape()), x);
        backend.geluNew(x.value(), out.value());
        record(out, () -> backend.geluNewBackward(x.value(), out.grad(), gradOf(x)));
        return out;
    }

    /**
     * x [B, H, T, hs] rotated by rotary positions (see {@link Backend#rotary}); positions [B·T] (I32).
     * A rotation, so the backward rotates the gradient back.
     */
    public Var rotary(Var x, Tensor positions, float base) {
        Tensor xv = x.value();
        if (xv.rank() != 4 || xv.dim(-1) % 2 != 0 || positions.size() != (long) xv.dim(0) * xv.dim(2)) {
            throw new IllegalArgumentException("rotary: needs x [B, H, T, even hs] and positions [B·T], got " + xv
                    + " and " + positions);
        }
        Var out = result(allocate(xv.shape()), x);
        backend.rotary(xv, positions, base, false, out.value());
        record(out, () -> {
            Tensor back = allocate(xv.shape());
            backend.rotary(out.grad(), positions, base, true, back);
            backend.axpy(1f, back, gradOf(x));
        });
        return out;
    }

    /** Softmax over the last dimension of attention scores [..., T, S] with hidden keys masked out. */
    public Var maskedSoftmax(Var scores, AttentionMask mask) {
        Var out = result(allocate(scores.shape()), scores);
        backend.maskedSoftmax(scores.value(), mask, out.value());
        record(out, () -> backend.softmaxBackward(out.value(), out.grad(), gradOf(scores)));
        return out;
    }

    /**
     * Softmax attention q [B, H, T, hs] over k, v [B, H, S, hs] in one backend call (see
     * {@link Backend#attention}): the tape keeps the output and one statistic per query row, never the
     * T × S probabilities. Dropout p applies to the probabilities with masks drawn from {@code seed}.
     */
    public Var attention(Var q, Var k, Var v, AttentionMask mask, float dropout, long seed) {
        Tensor qv = q.value(), kv = k.value(), vv = v.value();
        if (qv.rank() != 4 || kv.rank() != 4 || vv.rank() != 4 || !kv.sameShape(vv) || qv.dim(0) != kv.dim(0)
                || qv.dim(1) != kv.dim(1) || qv.dim(3) != kv.dim(3)) {
            throw new IllegalArgumentException("attention needs q [B, H, T, hs] and k, v [B, H, S, hs], got " + qv
                    + ", " + kv + " and " + vv);
        }
        Var out = result(written(qv.shape()), q, k, v);
        Tensor rowStats = written(qv.dim(0), qv.dim(1), qv.dim(2));
        backend.attention(qv, kv, vv, mask, dropout, seed, out.value(), rowStats);
        record(out, () -> backend.attentionBackward(qv, kv, vv, mask, dropout, seed, out.value(), rowStats, out.grad(),
                q.requiresGrad() ? gradOf(q) : null, k.requiresGrad() ? gradOf(k) : null, v.requiresGrad() ? gradOf(v) : null));
        return out;
    }

    /** Softmax over the last dimension with nothing hidden (a feature map: linear attention's on queries). */
    public Var softmax(Var x) {
        return maskedSoftmax(x, AttentionMask.GLOBAL.bidirectional());
    }

    /** out = exp(x) elementwise; its derivative is out itself, so dx += out ⊙ dOut. */
    public Var exp(Var x) {
        Var out = result(allocate(x.shape()), x);
        backend.exp(x.value(), out.value());
        record(out, () -> {
            Tensor scratch = allocate(x.shape());
            backend.mul(out.value(), out.grad(), scratch);
            backend.axpy(1f, scratch, gradOf(x));
        });
        return out;
    }

    /** Rows of table [V, C] picked by ids (I32, any shape) → [ids..., C]. */
    public Var embedding(Var table, Tensor ids) {
        int[] shape = Arrays.copyOf(ids.shape(), ids.rank() + 1);
        shape[ids.rank()] = table.value().dim(1);
        Var out = result(written(shape), table);
        backend.embedding(table.value(), ids, out.value());
        record(out, () -> backend.embeddingBackward(ids, out.grad(), gradOf(table)));
        return out;
    }

    /** relu(x) = max(x, 0), the default activation of a mixture of experts' experts. */
    public Var relu(Var x) {
        Var out = result(allocate(x.shape()), x);
        backend.relu(x.value(), out.value());
        record(out, () -> backend.reluBackward(x.value(), out.grad(), gradOf(x)));
        return out;
    }

    /**
     * Rows of x [R, C] picked by rows [M] (I32, each in [0, R), repeats allowed) → [M, C]: an
     * embedding lookup whose table is x, so its backward scatter-adds into x's gradient.
     */
    public Var gatherRows(Var x, Tensor rows) {
        if (x.value().rank() != 2 || rows.rank() != 1) {
            throw new IllegalArgumentException("gatherRows: needs x [R, C] and rows [M], got " + x.value() + " and " + rows);
        }
        return embedding(x, rows);
    }

    /** parts [M_i, C] stacked along the rows → [Σ M_i, C]; each part's gradient is its slice of the result's. */
    public Var concatRows(List<Var> parts) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("concatRows: no parts");
        }
        int c = parts.getFirst().value().dim(-1), total = 0;
        for (Var part : parts) {
            if (part.value().rank() != 2 || part.value().dim(1) != c) {
                throw new IllegalArgumentException("concatRows: every part is [M, " + c + "], got " + part.value());
            }
            total += part.value().dim(0);
        }
        Var out = result(allocate(total, c), parts.toArray(Var[]::new));
        int at = 0;
        for (Var part : parts) {
            int m = part.value().dim(0);
            backend.copy(part.value(), out.value().rows(at, at + m));
            at += m;
        }
        record(out, () -> {
            int from = 0;
            for (Var part : parts) {
                int m = part.value().dim(0);
                if (part.requiresGrad()) backend.axpy(1f, out.grad().rows(from, from + m), gradOf(part));
                from += m;
            }
        });
        return out;
    }

    /**
     * out [R, C] = Σ_m weights[m]·src[m] added at row rows[m] (see {@link Backend#scatterAddRows}):
     * src [M, C], weights [M], rows [M] (I32). Gradients flow into src and weights.
     */
    public Var scatterAddRows(Var src, Var weights, Tensor rows, int outRows) {
        Tensor sv = src.value(), wv = weights.value();
        Var out = result(allocate(outRows, sv.dim(-1)), src, weights);
        backend.scatterAddRows(sv, wv, rows, out.value());
        record(out, () -> backend.scatterAddRowsBackward(out.grad(), sv, wv, rows, gradOrScratch(src), gradOrScratch(weights)));
        return out;
    }

    /** x [N, K] divided row by row by (Σ_k x + eps) (see {@link Backend#normalizeRows}). */
    public Var normalizeRows(Var x, float eps) {
        if (x.value().rank() != 2) {
            throw new IllegalArgumentException("normalizeRows needs x [N, K], got " + x.value());
        }
        Var out = result(allocate(x.shape()), x);
        backend.normalizeRows(x.value(), eps, out.value());
        record(out, () -> backend.normalizeRowsBackward(x.value(), out.value(), out.grad(), eps, gradOf(x)));
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
            Var parameter = in == null || mode == Mode.INFERENCE ? null : in.trainableParameter();
            if (parameter != null) firstReads.putIfAbsent(parameter, backwardSteps.size());   // this op's step, or an earlier one
        }
        return Var.intermediate(value, mode != Mode.INFERENCE && needsGrad);
    }

    private void record(Var out, Runnable step) {
        if (mode == Mode.RECORDING && out.requiresGrad()) {
            backwardSteps.add(() -> {
                if (out.grad() != null) step.run();
            });
        }
    }

    private Tensor gradOf(Var v) {
        return v.gradForAccumulation(this);
    }

    /** The gradient of v, or a throw-away buffer when v needs none (kernels that write several grads). */
    private Tensor gradOrScratch(Var v) {
        return v.requiresGrad() ? gradOf(v) : allocate(v.shape());
    }

    private static long byteSize(Tensor t) {
        return t.size() * t.dtype().byteSize();
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
