package org.gptneo.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.util.Random;
import org.gptneo.backend.Backend;
import org.gptneo.backend.Backends;
import org.gptneo.backend.conformance.ReferenceBackend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * What only the CPU backend has: its thread pool (confined arenas are processed on the calling
 * thread), its thread count, its provider registration, and its one-line refusals of bad shapes. Its kernels are checked by
 * {@link CpuBackendConformanceTest}.
 */
class CpuBackendTest {
    private static final Backend CPU = new CpuBackend();
    private static final Backend REF = new ReferenceBackend();
    private final Random random = new Random(20_240_601);

    @Test
    void tensorsOfAConfinedArenaAreProcessedOnTheCallingThread() {
        try (Arena confined = Arena.ofConfined()) {
            Tensor a = fill(Tensor.allocate(confined, DType.F32, 200, 300));
            Tensor b = fill(Tensor.allocate(confined, DType.F32, 300, 250));
            Tensor expected = Tensor.allocate(confined, DType.F32, 200, 250);
            Tensor actual = Tensor.allocate(confined, DType.F32, 200, 250);
            REF.matmul(a, false, b, false, expected, 1f, 0f);
            CPU.matmul(a, false, b, false, actual, 1f, 0f);
            assertThat(maxError(actual, expected)).as("matmul in a confined arena")
                    .isLessThanOrEqualTo(1e-5 * maxAbs(expected));
            Tensor big = fill(Tensor.allocate(confined, DType.F32, 300_001));
            assertThat(CPU.sum(big)).isCloseTo(REF.sum(big), within(1e-6));
        }
    }

    @Test
    void linearAttentionRefusesShapesThatDoNotFit() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(arena, DType.F32, 1, 2, 3, 4), v = Tensor.allocate(arena, DType.F32, 1, 2, 3, 4);
            Tensor shortV = Tensor.allocate(arena, DType.F32, 1, 2, 2, 4), state = Tensor.allocate(arena, DType.F32, 1, 2, 4, 4);
            assertThatThrownBy(() -> CPU.linearAttentionCausal(q, q, shortV, 1e-6f, null, null, shortV))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("linear attention needs q, k [B, H, T, d] and v, out [B, H, T, e], got");
            assertThatThrownBy(() -> CPU.linearAttentionCausal(q, q, v, 1e-6f, state, null, v))
                    .hasMessage("linear attention takes both state and normaliser, or neither");
            assertThatThrownBy(() -> CPU.linearAttentionCausal(q, q, v, 1e-6f, state, state, v))
                    .hasMessageContaining("do not fit");
            assertThatThrownBy(() -> CPU.linearAttentionCausalBackward(q, q, v, 1e-6f, v, shortV, q, q, v))
                    .hasMessageContaining("do not match their values");
        }
    }

    @Test
    void registersAndCreatesOneBackendPerCall() {
        CpuBackendProvider provider = new CpuBackendProvider();
        assertThat(provider.name()).isEqualTo("cpu");
        assertThat(provider.priority()).isZero();
        assertThat(provider.isAvailable()).isTrue();
        assertThat(provider.deviceCount()).isOne();
        try (Backend a = provider.create(0); Backend b = Backends.byName("cpu")) {
            assertThat(a).isInstanceOf(CpuBackend.class).isNotSameAs(b);   // each owns its thread pool
            assertThat(a.name()).isEqualTo("cpu");
        }
        assertThatThrownBy(() -> provider.create(1)).hasMessageContaining("one device");
        try (CpuBackend one = new CpuBackend(1)) {
            assertThat(one.threads()).isOne();
        }
        assertThatThrownBy(() -> new CpuBackend(0)).hasMessageContaining("at least one thread");
    }

    @Test
    void theThreadCountOfProvidedBackendsIsSettable() {
        CpuBackendProvider provider = new CpuBackendProvider();
        try {
            System.setProperty(CpuBackendProvider.THREADS_PROPERTY, "3");
            try (Backend three = provider.create(0)) {
                assertThat(((CpuBackend) three).threads()).isEqualTo(3);
            }
            System.setProperty(CpuBackendProvider.THREADS_PROPERTY, "zero");
            assertThatThrownBy(() -> provider.create(0)).hasMessage("-Dgptneo.cpu.threads must be a whole number ≥ 1, got 'zero'");
        } finally {
            System.clearProperty(CpuBackendProvider.THREADS_PROPERTY);
        }
        try (Backend all = provider.create(0)) {
            assertThat(((CpuBackend) all).threads()).isEqualTo(Runtime.getRuntime().availableProcessors());
        }
    }

    private Tensor fill(Tensor t) {
        float[] values = new float[Math.toIntExact(t.size())];
        for (int i = 0; i < values.length; i++) values[i] = (float) random.nextGaussian();
        t.copyFrom(values);
        return t;
    }

    private static double maxError(Tensor actual, Tensor expected) {
        float[] x = actual.toFloatArray(), y = expected.toFloatArray();
        double max = 0;
        for (int i = 0; i < x.length; i++) max = Math.max(max, Math.abs((double) x[i] - y[i]));
        return max;
    }

    private static double maxAbs(Tensor t) {
        double max = 0;
        for (float v : t.toFloatArray()) max = Math.max(max, Math.abs(v));
        return max;
    }
}
