package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.gptneo.cli.TokenizeCommandTest.assertOneLineError;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.gptneo.GptNeo;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.io.HfConfig;
import org.gptneo.io.SafeTensorsFile;
import org.gptneo.io.SafeTensorsWriter;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --config takes a model file or a Hugging Face config.json, in info, logits and convert alike. */
class ConfigDetectionTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    Path modelFile;
    Path configJson;
    GptNeoConfig config;

    /** The same shape twice: a model file (seed 42, the default) and the config.json it becomes. */
    @BeforeEach
    void bothFormats() throws Exception {
        modelFile = TinyModelFile.write(dir);
        config = GptNeo.fromConfigFile(modelFile).config();
        configJson = dir.resolve("hf/config.json");
        Files.createDirectories(configJson.getParent());
        Files.writeString(configJson, HfConfig.toJson(config).toPrettyString());
    }

    @Test
    void infoPrintsTheSameForBoth() throws Exception {
        Cli fromModelFile = Cli.run("info", "--config", modelFile.toString());
        Cli fromConfigJson = Cli.run("info", "--config", configJson.toString());
        assertThat(fromConfigJson.exitCode()).as(fromConfigJson.err()).isZero();
        assertThat(fromConfigJson.out()).isEqualTo(fromModelFile.out());
        assertThat(JSON.readTree(fromConfigJson.out()).get("vocab_size").asInt()).isEqualTo(TinyModelFile.VOCAB);
    }

    @Test
    void logitsAreTheSameForBoth() {
        Path a = dir.resolve("a.safetensors"), b = dir.resolve("b.safetensors");
        assertThat(Cli.run("logits", "--config", modelFile.toString(), "--ids", "1,2,3", "--out", a.toString()).exitCode()).isZero();
        Cli r = Cli.run("logits", "--config", configJson.toString(), "--ids", "1,2,3", "--out", b.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        try (SafeTensorsFile fa = SafeTensorsFile.open(a); SafeTensorsFile fb = SafeTensorsFile.open(b)) {
            assertThat(fb.tensor("logits").toFloatArray()).containsExactly(fa.tensor("logits").toFloatArray());
        }
    }

    @Test
    void convertTakesEitherForASingleWeightsFile() throws Exception {
        Path weights = dir.resolve("weights/model.safetensors");
        Files.createDirectories(weights.getParent());
        try (GptNeoModel model = config.toBuilder().build(new CpuBackend())) {
            Map<String, org.gptneo.tensor.Tensor> tensors = new java.util.LinkedHashMap<>();
            model.parameters().forEach((name, p) -> tensors.put(name, p.value()));
            SafeTensorsWriter.write(weights, tensors, Map.of("format", "pt"));
            for (Path given : List.of(modelFile, configJson)) {
                Path out = dir.resolve("out-" + given.getFileName());
                Cli r = Cli.run("convert", weights.toString(), "--config", given.toString(), "--out", out.toString());
                assertThat(r.exitCode()).as(given + ": " + r.err()).isZero();
                try (GptNeoModel converted = HfCheckpoint.load(out, new CpuBackend())) {
                    assertThat(converted.config()).as(given.toString()).isEqualTo(config);
                    model.parameters().forEach((name, p) -> assertThat(converted.parameters().get(name).value().toFloatArray())
                            .as(name).containsExactly(p.value().toFloatArray()));
                }
                JsonNode written = JSON.readTree(out.resolve("config.json").toFile());
                assertThat(written.get("model_type").asText()).isEqualTo("gpt_neo");
            }
        }
    }

    @Test
    void errorsNameTheKeysOfTheFormatGiven() throws Exception {
        Files.writeString(configJson, "{\"hidden_size\": 10, \"num_heads\": 3, \"num_layers\": 2}");
        assertOneLineError(Cli.run("info", "--config", configJson.toString()),
                "config.json: hidden_size (10) must be divisible by num_heads (3)");
        Path yaml = Files.writeString(dir.resolve("bad.yaml"), "hidden-size: 10\nheads: 3\n");
        assertOneLineError(Cli.run("info", "--config", yaml.toString()), "bad.yaml: hidden-size (10) must be divisible by heads (3)");
        Files.writeString(configJson, "{\"num_heads\": 2, \"num_layers\": 2}");
        assertOneLineError(Cli.run("logits", "--config", configJson.toString(), "--ids", "1", "--out", dir.resolve("x").toString()),
                "config.json: missing key 'hidden_size'");
    }
}
