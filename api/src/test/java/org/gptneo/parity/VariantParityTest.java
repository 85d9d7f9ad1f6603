package org.gptneo.parity;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.stream.Stream;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.backend.conformance.OffHostBackend;
import org.gptneo.backend.conformance.ReferenceBackend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.ModelOutput;
import org.gptneo.nn.AdamW;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each architecture variant against tools/reference/variant_reference.py (written by
 * make_variant_golden.py): rotary and axial positions, a block without attention, masked LM, linear
 * attention (causal, and non-causal with rotary), mixtures of experts (top-2 with drops, top-1,
 * threshold policy). Logits, LM + aux loss and aux loss within 1e-4, every gradient within 5e-4,
 * ten AdamW steps on the total loss; on the CPU, scalar reference and off-host backends.
 */
class VariantParityTest {
    static final String FOLDER = "golden-variants";

    static Stream<Arguments> cases() {
        return Stream.of("rotary", "axial_none", "masked_lm", "linear", "linear_rotary_mlm",
                        "moe_top2", "moe_top1", "moe_top2_threshold")
                .flatMap(name -> Stream.of(Arguments.of(name, new CpuBackend()), Arguments.of(name, new ReferenceBackend()),
                        Arguments.of(name, new OffHostBackend())));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void logitsLossesAndEveryGradientMatchTheReference(String name, Backend backend) {
        try (GoldenFixture golden = GoldenFixture.load(FOLDER, name);
             GptNeoModel model = golden.model(backend);
             Tape tape = new Tape(backend, true);
             Arena host = Arena.ofConfined()) {
            ModelOutput output = model.run(tape, backend.upload(golden.tensor("ids"), host), false);
            Var loss = model.loss(tape, output, backend.upload(golden.tensor("labels"), host));
            tape.backward(loss);

            assertThat(GoldenFixture.relativeError(backend.download(output.logits().value(), host), golden.tensor("logits")))
                    .isLessThan(1e-4);
            assertThat(GoldenFixture.relativeError(backend.download(loss.value(), host), golden.tensor("loss"))).isLessThan(1e-4);
            float expectedAux = golden.tensor("aux_loss").getFloat(0);
            if (output.auxLoss() == null) {
                assertThat(expectedAux).isZero();
            } else {
                assertThat(GoldenFixture.relativeError(backend.download(output.auxLoss().value(), host), golden.tensor("aux_loss")))
                        .isLessThan(1e-4);
            }
            golden.assertEveryGradient(model, host);
        }
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void tenAdamWStepsMatchTorch(String name, Backend backend) {
        try (GoldenFixture golden = GoldenFixture.load(FOLDER, name);
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
                        Var loss = model.loss(tape, model.run(tape, ids, false), labels);
                        double actual = backend.download(loss.value(), host).getFloat(0);
                        assertThat(Math.abs(actual - expectedLosses.getFloat(step)) / Math.abs(expectedLosses.getFloat(step)))
                                .as("loss before step %d", step + 1).isLessThan(1e-4);
                        tape.backward(loss);
                        optimizer.step();
                    }
                }
            }
            golden.assertParametersAfterAdamW(model, host);
        }
    }
}
