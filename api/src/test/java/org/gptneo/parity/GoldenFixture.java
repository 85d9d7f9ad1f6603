package org.gptneo.parity;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.io.HfConfig;
import org.gptneo.io.SafeTensorsFile;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.Tensor;

/**
 * One golden file written by tools/reference/make_golden.py or make_variant_golden.py (our float64 PyTorch reference):
 * config, parameters, ids, labels, logits, loss, every gradient and ten AdamW steps.
 */
record GoldenFixture(String name, SafeTensorsFile file, GptNeoConfig config, JsonNode adamw) implements AutoCloseable {

    static GoldenFixture load(String name) {
        return load("golden", name);
    }

    /** The fixture {@code name} of resource folder {@code folder} (golden, golden-variants). */
    static GoldenFixture load(String folder, String name) {
        try {
            Path path = Path.of(GoldenFixture.class.getResource("/" + folder + "/" + name + ".safetensors").toURI());
            SafeTensorsFile file = SafeTensorsFile.open(path);
            ObjectMapper json = new ObjectMapper();
            GptNeoConfig config = HfConfig.fromJson(json.readTree(file.metadata().get("config")));
            return new GoldenFixture(name, file, config, json.readTree(file.metadata().get("adamw")));
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Tensor tensor(String key) {
        return file.tensor(key);
    }

    /** A model whose parameters are the fixture's {@code param.*} tensors. */
    GptNeoModel model(Backend backend) {
        return GptNeoModel.create(config, backend, (name, zeroed) -> zeroed.copyFrom(tensor("param." + name)));
    }

    /** Every parameter of {@code model} has a gradient within 5e-4 of the fixture's, and the parameter names are the fixture's. */
    void assertEveryGradient(GptNeoModel model, Arena host) {
        for (Map.Entry<String, Var> p : model.parameters().entrySet()) {
            assertThat(p.getValue().grad()).as("gradient of %s", p.getKey()).isNotNull();
            assertThat(relativeError(model.backend().download(p.getValue().grad(), host), tensor("grad." + p.getKey())))
                    .as("gradient of %s", p.getKey()).isLessThan(5e-4);
        }
        assertThat(model.parameters().keySet()).containsExactlyInAnyOrderElementsOf(
                file.names().stream().filter(n -> n.startsWith("param.")).map(n -> n.substring(6)).toList());
    }

    /** Every parameter of {@code model} is within 5e-4 of the fixture's after its ten AdamW steps. */
    void assertParametersAfterAdamW(GptNeoModel model, Arena host) {
        for (Map.Entry<String, Var> p : model.parameters().entrySet()) {
            assertThat(relativeError(model.backend().download(p.getValue().value(), host), tensor("adamw.param." + p.getKey())))
                    .as("%s after 10 AdamW steps", p.getKey()).isLessThan(5e-4);
        }
    }

    /** max|actual − expected| / max|expected| (floored so an all-zero expectation needs an all-zero result). */
    static double relativeError(Tensor actual, Tensor expected) {
        assertThat(actual.size()).isEqualTo(expected.size());
        double maxDiff = 0, maxRef = 0;
        for (long i = 0; i < expected.size(); i++) {
            maxDiff = Math.max(maxDiff, Math.abs(actual.getFloat(i) - expected.getFloat(i)));
            maxRef = Math.max(maxRef, Math.abs(expected.getFloat(i)));
        }
        return maxDiff / Math.max(maxRef, 1e-12);
    }

    @Override
    public void close() {
        file.close();
    }

    @Override
    public String toString() {
        return name;
    }
}
