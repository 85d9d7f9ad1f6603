package org.gptneo.io;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.backend.conformance.OffHostBackend;
import org.gptneo.backend.conformance.ReferenceBackend;
import org.gptneo.generate.GenerationConfig;
import org.gptneo.generate.Generator;
import org.gptneo.generate.TokenListener;
import org.gptneo.lora.LoraAdapter;
import org.gptneo.model.GptNeoModel;
import org.gptneo.nn.Parameter;
import org.gptneo.tensor.Tensor;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A PEFT-layout adapter written by our float64 reference (tools/reference/make_lora_golden.py:
 * r 4, alpha 6, q_proj, v_proj, c_fc and c_proj with non-zero B) loaded onto the same base: logits
 * and loss within 1e-4 and every lora_A / lora_B gradient within 5e-4 (the tolerances of
 * GoldenParityTest; max-abs-difference over max-abs-value), no gradient memory for any base
 * parameter, merge() within 1e-5 of the unmerged logits (float32 rounding of W + s·B·A against the
 * separate path), and greedy generation through the KV cache equal with the unmerged adapter and
 * after merge, and different from the base model's. On the CPU, scalar reference and off-host backends.
 */
class AdapterCheckpointParityTest {
    static Stream<Backend> backends() {
        return Stream.of(new CpuBackend(), new ReferenceBackend(), new OffHostBackend());
    }

    private static Path resource(String name) {
        try {
            return Path.of(AdapterCheckpointParityTest.class.getResource("/golden-lora/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static GptNeoModel base(SafeTensorsFile golden, Backend backend) throws IOException {
        var config = HfConfig.fromJson(new ObjectMapper().readTree(golden.metadata().get("config")));
        return GptNeoModel.create(config, backend, (name, zeroed) -> zeroed.copyFrom(golden.tensor("param." + name)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void logitsLossAndAdapterGradientsMatchTheReference(Backend backend) throws IOException {
        try (SafeTensorsFile golden = SafeTensorsFile.open(resource("golden.safetensors"));
             GptNeoModel model = base(golden, backend);
             LoraAdapter adapter = AdapterCheckpoint.load(model, resource("adapter"));
             Tape tape = new Tape(backend, true);
             Arena host = Arena.ofConfined()) {
            Var logits = model.forward(tape, backend.upload(golden.tensor("ids"), host), true);   // dropouts are 0
            Var loss = model.loss(tape, logits, backend.upload(golden.tensor("labels"), host));
            tape.backward(loss);

            assertThat(relativeError(backend.download(logits.value(), host), golden.tensor("logits"))).isLessThan(1e-4);
            assertThat(relativeError(backend.download(loss.value(), host), golden.tensor("loss"))).isLessThan(1e-4);
            assertThat(adapter.parameters().keySet()).containsExactlyInAnyOrderElementsOf(
                    golden.names().stream().filter(n -> n.startsWith("grad.")).map(n -> n.substring(5)).toList());
            for (Map.Entry<String, Var> p : adapter.parameters().entrySet()) {
                assertThat(p.getValue().grad()).as("gradient of %s", p.getKey()).isNotNull();
                assertThat(relativeError(backend.download(p.getValue().grad(), host), golden.tensor("grad." + p.getKey())))
                        .as("gradient of %s", p.getKey()).isLessThan(5e-4);
            }
            for (Parameter p : model.registry().all()) {
                if (!p.name().contains(".lora_")) {
                    assertThat(p.isTrainable()).as(p.name()).isFalse();
                    assertThat(p.grad()).as("gradient memory of %s", p.name()).isNull();
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void mergedEqualsUnmergedInLogitsAndGreedyGeneration(Backend backend) throws IOException {
        try (SafeTensorsFile golden = SafeTensorsFile.open(resource("golden.safetensors"));
             GptNeoModel model = base(golden, backend);
             GptNeoModel plain = base(golden, backend);
             Arena host = Arena.ofConfined()) {
            Tensor ids = backend.upload(golden.tensor("ids"), host);
            int[] prompt = {golden.tensor("ids").getInt(0), golden.tensor("ids").getInt(1), golden.tensor("ids").getInt(2)};
            GenerationConfig greedy = GenerationConfig.greedy(8).withStopAtEos(false);
            int[] baseIds = new Generator(plain, Gpt2Tokenizer.builtIn()).generate(prompt, greedy, TokenListener.NONE).ids();
            try (LoraAdapter adapter = AdapterCheckpoint.load(model, resource("adapter"))) {
                Tensor unmerged = logits(model, ids, host);
                int[] unmergedIds = new Generator(model, Gpt2Tokenizer.builtIn()).generate(prompt, greedy, TokenListener.NONE).ids();
                adapter.merge();
                assertThat(relativeError(logits(model, ids, host), unmerged)).isLessThan(1e-5);
                assertThat(relativeError(unmerged, golden.tensor("logits"))).isLessThan(1e-4);
                int[] mergedIds = new Generator(model, Gpt2Tokenizer.builtIn()).generate(prompt, greedy, TokenListener.NONE).ids();
                assertThat(unmergedIds).hasSize(8).containsExactly(mergedIds);
                assertThat(unmergedIds).isNotEqualTo(baseIds);
            }
        }
    }

    private static Tensor logits(GptNeoModel model, Tensor ids, Arena host) {
        try (Tape tape = new Tape(model.backend(), false)) {
            return model.backend().download(model.forward(tape, ids, false).value(), host).to(host, org.gptneo.tensor.DType.F32);
        }
    }

    /** max|actual − expected| / max|expected|. */
    static double relativeError(Tensor actual, Tensor expected) {
        assertThat(actual.size()).isEqualTo(expected.size());
        double maxDiff = 0, maxRef = 0;
        for (long i = 0; i < expected.size(); i++) {
            maxDiff = Math.max(maxDiff, Math.abs(actual.getFloat(i) - expected.getFloat(i)));
            maxRef = Math.max(maxRef, Math.abs(expected.getFloat(i)));
        }
        return maxDiff / Math.max(maxRef, 1e-12);
    }
}
