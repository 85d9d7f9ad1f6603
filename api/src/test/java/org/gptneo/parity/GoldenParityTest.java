package org.gptneo.parity;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.stream.Stream;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.cuda.CudaBackend;
import org.gptneo.cuda.emulator.EmulatedRuntime;
import org.gptneo.cuda.runtime.GemmCall;
import org.gptneo.backend.conformance.OffHostBackend;
import org.gptneo.backend.conformance.ReferenceBackend;
import org.gptneo.model.GptNeoModel;
import org.gptneo.nn.AdamW;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The model against our PyTorch reference (tools/reference): logits and loss within 1e-4, every
 * parameter gradient within 5e-4, and ten AdamW steps, for configs with local windows shorter than
 * the sequence, several batch rows, an odd head count, a custom MLP width and ignored labels.
 * Errors are max-abs-difference over max-abs-value of each tensor. Each case runs on the CPU backend,
 * the scalar reference, the off-host test backend (inputs uploaded, results downloaded) and the CUDA
 * backend over its kernel emulator (the CUDA C kernels compiled for the host); on a machine with a
 * GPU, {@link GoldenParityGpuTest} runs the same checks on the GPU.
 */
class GoldenParityTest {
    static Stream<Arguments> cases() {
        return Stream.of("tiny_local", "tiny_mlp", "tiny_global", "tiny_window1")
                .flatMap(name -> Stream.of(Arguments.of(name, new CpuBackend()), Arguments.of(name, new ReferenceBackend()),
                        Arguments.of(name, new OffHostBackend()),
                        Arguments.of(name, CudaBackend.open(0, EmulatedRuntime::open, GemmCall.Precision.F32))));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void logitsLossAndEveryGradientMatchTheReference(String name, Backend backend) {
        checkLogitsLossAndGradients(name, backend);
    }

    static void checkLogitsLossAndGradients(String name, Backend backend) {
        try (GoldenFixture golden = GoldenFixture.load(name);
             GptNeoModel model = golden.model(backend);
             Tape tape = new Tape(backend, true);
             Arena host = Arena.ofConfined()) {
            Var logits = model.forward(tape, backend.upload(golden.tensor("ids"), host), false);
            Var loss = model.loss(tape, logits, backend.upload(golden.tensor("labels"), host));
            tape.backward(loss);

            assertThat(GoldenFixture.relativeError(backend.download(logits.value(), host), golden.tensor("logits"))).isLessThan(1e-4);
            assertThat(GoldenFixture.relativeError(backend.download(loss.value(), host), golden.tensor("loss"))).isLessThan(1e-4);
            golden.assertEveryGradient(model, host);
        }
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void tenAdamWStepsMatchTorch(String name, Backend backend) {
        checkTenAdamWSteps(name, backend);
    }

    static void checkTenAdamWSteps(String name, Backend backend) {
        try (GoldenFixture golden = GoldenFixture.load(name);
             GptNeoModel model = golden.model(backend);
             Arena host = Arena.ofShared()) {
            var h = golden.adamw();
            Tensor ids = backend.upload(golden.tensor("ids"), host), labels = backend.upload(golden.tensor("labels"), host);
            AdamW.Settings settings = new AdamW.Settings((float) h.get("lr").asDouble(), (float) h.get("beta1").asDouble(),
                    (float) h.get("beta2").asDouble(), (float) h.get("eps").asDouble(), (float) h.get("weight_decay").asDouble());
            Tensor expectedLosses = golden.tensor("adamw.losses");
            try (AdamW optimizer = new AdamW(backend, model.parameters(), settings)) {
                for (int step = 0; step < h.get("steps").asInt(); step++) {
                    try (Tape tape = new Tape(backend, true)) {
                        model.zeroGrad();
                        Var loss = model.loss(tape, model.forward(tape, ids, false), labels);
                        assertThat(relative(backend.download(loss.value(), host).getFloat(0), expectedLosses.getFloat(step)))
                                .as("loss before step %d", step + 1).isLessThan(1e-4);
                        tape.backward(loss);
                        optimizer.step();
                    }
                }
            }
            golden.assertParametersAfterAdamW(model, host);
        }
    }

    private static double relative(double actual, double expected) {
        return Math.abs(actual - expected) / Math.abs(expected);
    }
}
