package org.gptneo.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import org.gptneo.backend.Backend;
import org.gptneo.backend.BackendProvider;
import org.gptneo.backend.Backends;
import org.gptneo.cuda.ffi.CudaProbe;
import org.gptneo.cuda.runtime.GemmCall;
import org.junit.jupiter.api.Test;

class CudaBackendProviderTest {
    @Test
    void isRegisteredAheadOfTheCpu() {
        assertThat(Backends.providers()).extracting(BackendProvider::name).containsSubsequence("cuda", "cpu");
    }

    @Test
    void withoutAGpuItSaysWhyAndAutoTakesTheCpu() {
        assumeFalse(CudaProbe.probe().usable(), "this machine has a usable GPU");
        CudaBackendProvider cuda = new CudaBackendProvider();

        assertThat(cuda.isAvailable()).isFalse();
        assertThat(cuda.deviceCount()).isZero();
        assertThat(cuda.unavailableReason()).isNotBlank();
        assertThat(cuda.details()).containsKeys("usable", "libraries", "versions");
        assertThatThrownBy(() -> cuda.create(0)).isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("the cuda backend is not available: ");
        try (Backend auto = Backend.auto()) {
            assertThat(auto.name()).isEqualTo("cpu");
        }
    }

    @Test
    void precisionSettings() {
        assertThat(CudaBackendProvider.precision(null)).isEqualTo(GemmCall.Precision.F32);
        assertThat(CudaBackendProvider.precision(" TF32 ")).isEqualTo(GemmCall.Precision.TF32);
        assertThat(CudaBackendProvider.precision("bf16")).isEqualTo(GemmCall.Precision.BF16);
        assertThatThrownBy(() -> CudaBackendProvider.precision("fp8"))
                .hasMessage("gptneo.cuda.precision takes f32, tf32 or bf16, got 'fp8'");
    }
}
