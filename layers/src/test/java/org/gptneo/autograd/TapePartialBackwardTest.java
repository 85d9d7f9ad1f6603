package org.gptneo.autograd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.gptneo.backend.Backend;
import org.gptneo.backend.conformance.ReferenceBackend;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link Tape#backward(Var, Tensor)} and {@link Var#input}: a computation cut in two, each part on
 * its own tape (the second starting from a copy of the first's output, as a pipeline stage receives
 * it), gives the gradients of the uncut run bit for bit when the second part's input gradient is
 * pushed back through the first.
 */
class TapePartialBackwardTest {
    private static final int N = 6, C = 8, F = 16, V = 5;
    private static final int[] TARGETS = {0, 1, 2, 3, 4, 0};
    private final Backend backend = new ReferenceBackend();
    private final Arena arena = Arena.ofShared();
    private final Random random = new Random(5);
    private final float[] input = randn(N * C);
    private final List<float[]> weights = new ArrayList<>();

    TapePartialBackwardTest() {
        for (int part = 0; part < 2; part++) {
            weights.add(randn(C));         // LayerNorm weight
            weights.add(randn(C));         // LayerNorm bias
            weights.add(randn(F * C));     // fc weight
            weights.add(randn(C * F));     // proj weight
        }
        weights.add(randn(V * C));         // head
    }

    @AfterEach
    void free() {
        arena.close();
    }

    /** Every parameter's gradient, then the loss, as raw bits. */
    private List<int[]> uncut() {
        try (Arena grads = Arena.ofConfined(); Tape tape = new Tape(backend, true)) {
            List<Var> p = parameters(grads);
            Var loss = head(tape, p, part(tape, p, 1, part(tape, p, 0, Var.constant(Tensor.of(arena, input, N, C)))));
            tape.backward(loss);
            return results(p, loss);
        }
    }

    private List<int[]> cut() {
        try (Arena grads = Arena.ofConfined(); Tape first = new Tape(backend, true); Tape second = new Tape(backend, true)) {
            List<Var> p = parameters(grads);
            Var sent = part(first, p, 0, Var.constant(Tensor.of(arena, input, N, C)));          // [N, C]
            Tensor received = second.allocate(N, C);
            backend.copy(sent.value(), received);
            Var in = Var.input(received);
            Var loss = head(second, p, part(second, p, 1, in));
            second.backward(loss);
            first.backward(sent, in.grad());
            return results(p, loss);
        }
    }

    @Test
    void pushingTheSecondPartsInputGradientThroughTheFirstGivesTheUncutGradientsBitForBit() {
        List<int[]> whole = uncut(), parts = cut();
        assertThat(parts).hasSameSizeAs(whole);
        for (int i = 0; i < whole.size(); i++) {
            assertThat(whole.get(i)).as("entry %d is computed", i).isNotNull();
            assertThat(parts.get(i)).as("entry %d", i).containsExactly(whole.get(i));
        }
    }

    @Test
    void theOutputGradientMustFitAndTheTapeMustRecord() {
        try (Tape tape = new Tape(backend, true); Tape inference = new Tape(backend, false)) {
            Var w = Var.parameter(Tensor.of(arena, new float[] {1, 2}, 2), arena);
            Var out = tape.scale(w, 3f);
            assertThatThrownBy(() -> tape.backward(out, Tensor.of(arena, new float[] {1, 2, 3}, 3)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("gradient of its shape");
            Var constant = tape.scale(Var.constant(Tensor.of(arena, new float[] {1}, 1)), 2f);
            assertThatThrownBy(() -> tape.backward(constant, Tensor.of(arena, new float[] {1}, 1)))
                    .hasMessageContaining("no gradient needed");
            assertThatThrownBy(() -> inference.backward(inference.scale(w, 2f), Tensor.of(arena, new float[] {1, 1}, 2)))
                    .isInstanceOf(IllegalStateException.class);
            tape.backward(out, Tensor.of(arena, new float[] {0.5f, -1f}, 2));
            assertThat(w.grad().toFloatArray()).containsExactly(1.5f, -3f);
        }
    }

    private List<Var> parameters(Arena grads) {
        List<Var> p = new ArrayList<>();
        for (float[] w : weights) p.add(Var.parameter(Tensor.of(arena, w, w.length), grads));
        return p;
    }

    /** x [N, C] → x + proj(gelu(fc(layerNorm(x)))) with part {@code k}'s parameters. */
    private static Var part(Tape tape, List<Var> p, int k, Var x) {
        List<Var> q = p.subList(4 * k, 4 * k + 4);
        Var hidden = tape.geluNew(tape.linear(tape.layerNorm(x, q.get(0), q.get(1), 1e-5f), reshaped(q.get(2), F, C), null));
        return tape.add(x, tape.linear(hidden, reshaped(q.get(3), C, F), null));
    }

    private Var head(Tape tape, List<Var> p, Var h) {
        Var logits = tape.linear(h, reshaped(p.getLast(), V, C), null);                     // [N, V]
        return tape.crossEntropyMean(logits, Tensor.ofInts(arena, TARGETS, N), -100);
    }

    private static List<int[]> results(List<Var> p, Var loss) {
        List<int[]> out = new ArrayList<>();
        for (Var v : p) out.add(v.grad() == null ? null : bits(v.grad()));
        out.add(bits(loss.value()));
        return out;
    }

    private static Var reshaped(Var flat, int rows, int cols) {
        return Var.view(flat, flat.value().reshape(rows, cols));
    }

    private float[] randn(int size) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) v[i] = (float) random.nextGaussian();
        return v;
    }

    private static int[] bits(Tensor t) {
        float[] f = t.toFloatArray();
        int[] out = new int[f.length];
        for (int i = 0; i < f.length; i++) out[i] = Float.floatToRawIntBits(f[i]);
        return out;
    }
}
