package org.gptneo.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.util.Random;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.backend.conformance.OffHostBackend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Generation through {@link LinearAttentionState}: a prompt and then single tokens give what the
 * parallel form gives for the same tokens, left padding adds nothing, and the states that cannot
 * work are refused. One layer of C = 16, two heads of 8, rotary positions, random weights; decoding
 * also on {@link OffHostBackend}, whose tensors the host may not touch (the state lives on the backend).
 */
class LinearAttentionStateTest {
    private static final int C = 16, HEADS = 2;
    private static final double TOLERANCE = 1e-5;

    private Backend backend = new CpuBackend();
    private final Arena arena = Arena.ofShared();
    private final Random random = new Random(11);

    @AfterEach
    void free() {
        arena.close();
        backend.close();
    }

    @ParameterizedTest(name = "on {0}")
    @ValueSource(strings = {"cpu", "offhost"})
    void aPromptOfFiveThenSevenSingleTokensEqualsTheParallelFormWithARowLeftPaddedByThree(String backendName) {
        if (backendName.equals("offhost")) {
            backend.close();
            backend = new OffHostBackend();
        }
        int total = 12, pad = 3;
        LinearAttention layer = layer(true);
        float[][][] x = new float[2][total][];                          // [B, T, C]
        for (float[][] row : x) for (int t = 0; t < total; t++) row[t] = randn(C);

        // the parallel form: row 0 all 12 tokens at positions 0..11, row 1 its 9 tokens after the padding at 0..8
        float[][] row0 = parallel(layer, x[0], 0), row1 = parallel(layer, x[1], pad);

        LayerState state = layer.newState(backend, arena, 2, new int[] {0, pad}, 64);
        int[] cuts = {0, 5, 6, 7, 8, 9, 10, 11, 12};
        double maxError = 0, maxValue = 0;
        for (int step = 1; step < cuts.length; step++) {
            int from = cuts[step - 1], len = cuts[step] - from;
            float[][] inputs = new float[2 * len][];
            int[] positions = new int[2 * len];
            for (int b = 0; b < 2; b++) {
                for (int i = 0; i < len; i++) {
                    inputs[b * len + i] = x[b][from + i];
                    positions[b * len + i] = Math.max(0, from + i - (b == 0 ? 0 : pad));
                }
            }
            float[][] out = forward(layer, inputs, 2, len, positions, state);    // [B·T, C]
            for (int i = 0; i < len; i++) {
                int t = from + i;
                float[] expected0 = row0[t], actual0 = out[i], actual1 = out[len + i];
                for (int c = 0; c < C; c++) {
                    maxError = Math.max(maxError, Math.abs(actual0[c] - expected0[c]));
                    maxValue = Math.max(maxValue, Math.abs(expected0[c]));
                    assertThat(actual1[c]).as("row 1, token %d", t).isFinite();
                    if (t >= pad) {
                        maxError = Math.max(maxError, Math.abs(actual1[c] - row1[t - pad][c]));
                        maxValue = Math.max(maxValue, Math.abs(row1[t - pad][c]));
                    }
                }
            }
        }
        assertThat(((LinearAttentionState) state).tokens()).isEqualTo(total);
        assertThat(maxValue).isGreaterThan(1e-2);
        assertThat(maxError / maxValue).as("max error / max value over every decoded token").isLessThanOrEqualTo(TOLERANCE);
    }

    @Test
    void aNonCausalLayerRefusesAGenerationState() {
        assertThatThrownBy(() -> layer(false).newState(backend, arena, 1, new int[] {0}, 16))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("a non-causal (masked-LM) linear attention layer keeps no generation state");
    }

    @Test
    void paddingNeedsOneCountPerRow() {
        assertThatThrownBy(() -> layer(true).newState(backend, arena, 2, new int[] {1}, 16))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("padding needs one count per row of a batch of 2, got [1]");
    }

    @Test
    void aStateTakesNoGradients() {
        LinearAttention layer = layer(true);
        LayerState state = layer.newState(backend, arena, 1, new int[] {0}, 16);
        try (Tape tape = new Tape(backend, true)) {
            Var x = Var.constant(rows(new float[][] {randn(C), randn(C)}));
            Tokens tokens = new Tokens(1, 2, Tensor.ofInts(arena, new int[] {0, 1}, 2));
            assertThatThrownBy(() -> layer.forward(new Pass(tape, false, 0), x, tokens, state))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("records no gradients through a generation state");
        }
    }

    // ---- helpers ----------------------------------------------------------------------------

    /** Outputs [T', C] of one row's tokens from {@code first} on, without a state, at positions 0, 1, …. */
    private float[][] parallel(LinearAttention layer, float[][] row, int first) {
        int len = row.length - first;
        float[][] inputs = new float[len][];
        int[] positions = new int[len];
        for (int i = 0; i < len; i++) {
            inputs[i] = row[first + i];
            positions[i] = i;
        }
        return forward(layer, inputs, 1, len, positions, null);
    }

    private float[][] forward(LinearAttention layer, float[][] inputs, int batch, int time, int[] positions, LayerState state) {
        try (Tape tape = new Tape(backend, false)) {
            Tokens tokens = new Tokens(batch, time, backend.upload(Tensor.ofInts(arena, positions, positions.length), arena));
            Var x = Var.constant(backend.upload(rows(inputs), arena));
            float[] flat = backend.download(layer.forward(Pass.inference(tape), x, tokens, state).value(), arena).toFloatArray();
            float[][] out = new float[inputs.length][C];
            for (int r = 0; r < inputs.length; r++) System.arraycopy(flat, r * C, out[r], 0, C);
            return out;
        }
    }

    private LinearAttention layer(boolean causal) {
        ParameterSource source = (name, shape, init, half) -> {
            Tensor t = Tensor.allocate(arena, DType.F32, shape);
            for (long i = 0; i < t.size(); i++) t.setFloat(i, 0.5f * (float) random.nextGaussian());
            return Parameter.of(name, Var.parameter(backend.upload(t, arena), arena));
        };
        return new LinearAttention(source, "transformer.h.0.attn.attention.", 0, C, HEADS, 0f, causal, true);
    }

    private Tensor rows(float[][] rows) {
        float[] flat = new float[rows.length * C];
        for (int r = 0; r < rows.length; r++) System.arraycopy(rows[r], 0, flat, r * C, C);
        return Tensor.of(arena, flat, rows.length, C);
    }

    private float[] randn(int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) random.nextGaussian();
        return x;
    }
}
