package org.gptneo.generate;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A model whose eos_token_id (Hugging Face's default 50256) lies outside its small vocabulary. */
class GeneratorEosOutsideVocabularyTest {
    private static final int VOCAB = 40;
    /** Held strongly: java.util.logging keeps loggers only weakly. */
    private final Logger julLogger = Logger.getLogger(Generator.class.getName());
    private final List<LogRecord> records = new ArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord r) {
            records.add(r);
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };

    @BeforeEach
    void captureWarnings() {
        julLogger.addHandler(capture);
    }

    @AfterEach
    void release() {
        julLogger.removeHandler(capture);
    }

    private static GptNeoModel model(int eos) {
        return GptNeoBuilder.create().vocabSize(VOCAB).contextLength(32).hiddenSize(8).layers(2).heads(2).windowSize(4)
                .initializerRange(0.5f).seed(4).bosTokenId(eos).eosTokenId(eos).build(new CpuBackend());
    }

    @Test
    void batchesGenerateToTheLimitAndEqualSingleRuns() {
        try (GptNeoModel model = model(50256)) {
            Generator generator = new Generator(model, Gpt2Tokenizer.builtIn());
            List<int[]> prompts = List.of(new int[] {3, 9, 1, 7}, new int[] {5});
            GenerationConfig greedy = GenerationConfig.greedy(10);   // stops at eos: never met
            List<Generation> batch = generator.generateBatch(prompts, greedy);
            for (int i = 0; i < prompts.size(); i++) {
                Generation alone = generator.generate(prompts.get(i), greedy, TokenListener.NONE);
                assertThat(batch.get(i).ids()).as("row %d", i).hasSize(10).containsExactly(alone.ids());
                assertThat(batch.get(i).finish()).isEqualTo(Generation.Finish.LENGTH);
            }
        }
    }

    @Test
    void theWarningIsLoggedOncePerGenerator() {
        try (GptNeoModel model = model(50256)) {
            Generator generator = new Generator(model, Gpt2Tokenizer.builtIn());
            generator.generate(new int[] {1, 2}, GenerationConfig.greedy(3), TokenListener.NONE);
            generator.generateBatch(List.of(new int[] {1}, new int[] {2, 3}), GenerationConfig.greedy(3));
            assertThat(records).singleElement().satisfies(r -> {
                assertThat(r.getLevel()).isEqualTo(Level.WARNING);
                assertThat(r.getMessage()).isEqualTo(
                        "eos_token_id 50256 is outside the model's vocabulary [0, 40): generation will not stop at end-of-text");
            });
        }
    }

    @Test
    void anEosInsideTheVocabularyLogsNothing() {
        try (GptNeoModel model = model(VOCAB - 1)) {
            new Generator(model, Gpt2Tokenizer.builtIn()).generate(new int[] {1}, GenerationConfig.greedy(2), TokenListener.NONE);
            assertThat(records).isEmpty();
        }
    }
}
