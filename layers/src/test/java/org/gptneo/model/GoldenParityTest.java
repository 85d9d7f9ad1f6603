package org.gptneo.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.stream.Stream;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.backend.cpu.ReferenceBackend;
import org.gptneo.nn.AdamW;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The model against our PyTorch reference (tools/reference): logits and loss within 1e-4, every
 * parameter gradient within 5e-4, and ten AdamW steps, for configs with local windows shorter than
 * the sequence, several batch rows, an odd head count, a custom MLP width and ignored labels.
 * Errors are max-abs-difference over max-abs-value of each tensor.
 */
class GoldenParityTest {
    static Stream<Arguments> cases() {
        return Stream.of("tiny_local", "tiny_mlp", "tiny_global", "tiny_window1")
                .flatMap(name -> Stream.of(Arguments.of(name, new CpuBackend()), Arguments.of(name, new ReferenceBackend())));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void logitsLossAndEveryGradientMatchTheReference(String name, Backend backend) {
        try (GoldenFixture golden = GoldenFixture.load(name);
             GptNeoModel model = golden.model(backend);
             Tape tape = new Tape(backend, true)) {
            Var logits = model.forward(tape, golden.tensor("ids"), false);
            Var loss = model.loss(tape, logits, golden.tensor("labels"));
            tape.backward(loss);

            assertThat(GoldenFixture.relativeError(logits.value(), golden.tensor("logits"))).isLessThan(1e-4);
            assertThat(GoldenFixture.relativeError(loss.value(), golden.tensor("loss"))).isLessThan(1e-4);
            for (Map.Entry<String, Var> p : model.parameters().entrySet()) {
                assertThat(p.getValue().grad()).as("gradient of %s", p.getKey()).isNotNull();
                assertThat(GoldenFixture.relativeError(p.getValue().grad(), golden.tensor("grad." + p.getKey())))
                        .as("gradient of %s", p.getKey()).isLessThan(5e-4);
            }
            assertThat(model.parameters().keySet()).containsExactlyInAnyOrderElementsOf(
                    golden.file().names().stream().filter(n -> n.startsWith("param.")).map(n -> n.substring(6)).toList());
        }
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void tenAdamWStepsMatchTorch(String name, Backend backend) {
        try (GoldenFixture golden = GoldenFixture.load(name);
             GptNeoModel model = golden.model(backend)) {
            var h = golden.adamw();
            AdamW.Settings settings = new AdamW.Settings((float) h.get("lr").asDouble(), (float) h.get("beta1").asDouble(),
                    (float) h.get("beta2").asDouble(), (float) h.get("eps").asDouble(), (float) h.get("weight_decay").asDouble());
            Tensor expectedLosses = golden.tensor("adamw.losses");
            try (AdamW optimizer = new AdamW(backend, model.parameters(), settings)) {
                for (int step = 0; step < h.get("steps").asInt(); step++) {
                    try (Tape tape = new Tape(backend, true)) {
                        model.zeroGrad();
                        Var loss = model.loss(tape, model.forward(tape, golden.tensor("ids"), false), golden.tensor("labels"));
                        assertThat(relative(loss.value().getFloat(0), expectedLosses.getFloat(step)))
                                .as("loss before step %d", step + 1).isLessThan(1e-4);
                        tape.backward(loss);
                        optimizer.step();
                    }
                }
            }
            for (Map.Entry<String, Var> p : model.parameters().entrySet()) {
                assertThat(GoldenFixture.relativeError(p.getValue().value(), golden.tensor("adamw.param." + p.getKey())))
                        .as("%s after 10 AdamW steps", p.getKey()).isLessThan(5e-4);
            }
        }
    }

    private static double relative(double actual, double expected) {
        return Math.abs(actual - expected) / Math.abs(expected);
    }
}
