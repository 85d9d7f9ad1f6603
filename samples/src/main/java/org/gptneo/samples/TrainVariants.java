package org.gptneo.samples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.gptneo.GptNeo;
import org.gptneo.data.InMemoryTokens;
import org.gptneo.generate.GenerationConfig;
import org.gptneo.generate.Generator;
import org.gptneo.generate.TokenListener;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.PositionEmbedding;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import org.gptneo.train.StepMetrics;
import org.gptneo.train.Trainer;
import org.gptneo.train.TrainerListener;

/**
 * GPT-Neo's variants from code: linear attention (O(T), O(1) per generated token) beside global attention,
 * rotary positions and a mixture of experts. Trains it briefly, saves it as a folder (args[0], else a temp dir),
 * loads it back and continues a prompt.
 */
public class TrainVariants {
    static final List<String> TEXTS = List.of(
            "The keeper of the lighthouse climbed the stairs at dusk and lit the great lamp.",
            "The fishing boats came home before the storm, and the harbour filled with sails.",
            "At dawn the keeper wrote the weather in his book and watched the boats go out.");

    public static void main(String[] args) throws IOException {
        Path dir = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("gpt-neo-variants");
        Gpt2Tokenizer tokenizer = Gpt2Tokenizer.builtIn();
        try (GptNeoModel model = GptNeo.builder()
                .vocabSize(50257).contextLength(64).hiddenSize(64).layers(4).heads(4)
                .attention(AttentionType.LINEAR, AttentionType.GLOBAL)     // layers 0 and 2 linear, 1 and 3 global
                .positions(PositionEmbedding.ROTARY)                         // q and k rotated; no position table
                .experts(4).topK(2)                                          // layers 1 and 3: 4 experts, 2 per token
                .seed(7).build();
             InMemoryTokens tokens = InMemoryTokens.tokenize(TEXTS, tokenizer)) {
            Trainer.builder().model(model).data(tokens).seqLen(24).batchSize(4).steps(60)
                    .learningRate(3e-3).warmup(6).logEvery(20)
                    .listener(new TrainerListener() {                         // the loss includes the experts' aux loss
                        @Override
                        public void onStep(StepMetrics m) {
                            if (m.step() % 20 == 0) {
                                System.out.printf("step %d  loss %.3f  aux %.4f  dropped %.1f%%%n", m.step(), m.loss(),
                                        m.routing().orElseThrow().auxLoss(),
                                        100 * m.routing().orElseThrow().layers().getFirst().dropRate());
                            }
                        }
                    })
                    .build().fit();
            HfCheckpoint.save(model, dir);          // config.json with position_embedding, moe_layers, ... + safetensors
        }
        try (GptNeoModel loaded = GptNeo.load(dir)) {   // linear layers generate from a running sum, not a KV cache
            String text = new Generator(loaded, tokenizer).generate("The keeper", GenerationConfig.greedy(12),
                    TokenListener.NONE).text();
            System.out.println("The keeper" + text);
        }
    }
}
