package org.gptneo.samples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.gptneo.GptNeo;
import org.gptneo.data.InMemoryTokens;
import org.gptneo.generate.GenerationConfig;
import org.gptneo.generate.Generator;
import org.gptneo.generate.TokenListener;
import org.gptneo.io.AdapterCheckpoint;
import org.gptneo.lora.LoRA;
import org.gptneo.lora.LoraAdapter;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import org.gptneo.train.Schedule;
import org.gptneo.train.StepMetrics;
import org.gptneo.train.Trainer;
import org.gptneo.train.TrainerListener;

/**
 * One JVM serving and learning at once: a serving thread answers prompts while a training thread fine-tunes a LoRA
 * adapter on its own copy of the model and saves it; the serving thread then swaps it in between two requests.
 * args[0]: a Hugging Face model folder (else a small random GPT-Neo); args[1]: the adapter folder (else a temp dir).
 */
public class FineTuneService {
    static final String PROMPT = "Ahoy";
    static final List<String> INCOMING = List.of(       // text that reaches the service, in a style the base lacks
            "Ahoy, matey! Hoist the black flag and sail for the island.",
            "Ahoy, matey! The captain buried the gold where the palm trees grow.",
            "Ahoy, matey! Swab the deck before the captain wakes.",
            "Ahoy, matey! A storm is coming, so lower the sails.",
            "Ahoy, matey! The parrot knows where the treasure map is hidden.",
            "Ahoy, matey! Fire the cannons when the navy ship comes close.");

    public static void main(String[] args) throws Exception {
        Path model = args.length > 0 ? Path.of(args[0]) : null;
        Path adapterDir = args.length > 1 ? Path.of(args[1]) : Files.createTempDirectory("adapter");
        Gpt2Tokenizer tokenizer = model != null ? GptNeo.tokenizer(model) : Gpt2Tokenizer.builtIn();
        // A model, and a LoRA adapter on it, serve one thread at a time: training gets an instance of its own. Loaded
        // with LoadOptions.defaults(), both instances map the same read-only file: the page cache holds it once.
        try (GptNeoModel servingModel = open(model); GptNeoModel trainingModel = open(model);
             Server server = new Server(servingModel, tokenizer);
             ExecutorService serving = Executors.newSingleThreadExecutor();     // the only thread on servingModel
             ExecutorService training = Executors.newSingleThreadExecutor()) {  // the only thread on trainingModel
            System.out.println("[before] " + serving.submit(() -> server.answer(PROMPT)).get());
            Future<Path> tuned = training.submit(() -> fineTune(trainingModel, tokenizer, adapterDir));
            List<String> requests = List.of("The weather today", "My favourite food is");
            for (int i = 0; !tuned.isDone(); i++) {                          // clients keep being answered meanwhile
                String prompt = requests.get(i % requests.size());
                System.out.println("[serve]  " + serving.submit(() -> server.answer(prompt)).get());
                Thread.sleep(1000);
            }
            Path saved = tuned.get();                                         // rethrows a training failure
            serving.submit(() -> server.swap(saved)).get();                   // runs between two requests
            System.out.println("[after]  " + serving.submit(() -> server.answer(PROMPT)).get());
        }   // closes the executors (each waits for its tasks), then the server's adapter, then the models
    }

    /** The folder's model (weights mapped read-only from the file), else a small random GPT-Neo, the same each call. */
    static GptNeoModel open(Path folder) {
        return folder != null ? GptNeo.load(folder) : GptNeo.builder()
                .vocabSize(50257).contextLength(128)                           // GPT-2's vocabulary
                .hiddenSize(64).layers(2).heads(4)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(32)
                .seed(42).build();
    }

    /** Trains a LoRA adapter on the incoming text with the training thread's own model and saves it (PEFT's layout). */
    static Path fineTune(GptNeoModel model, Gpt2Tokenizer tokenizer, Path dir) {
        LoRA lora = LoRA.rank(8).alpha(16).dropout(0.05f).targets("q_proj", "v_proj", "c_fc", "c_proj");
        try (InMemoryTokens tokens = InMemoryTokens.tokenize(INCOMING, tokenizer);   // each text, then end-of-text
             LoraAdapter adapter = lora.apply(model)) {                              // freezes the base weights
            Trainer trainer = Trainer.builder().model(model).adapter(adapter)         // trains A and B only
                    .data(tokens).seqLen(16).batchSize(4).steps(40)                   // [B, T] = [4, 16] a step
                    .learningRate(3e-2).warmup(4).schedule(Schedule.COSINE).logEvery(5)
                    .listener(new TrainerListener() {
                        @Override
                        public void onStep(StepMetrics m) {
                            System.out.println("[train]  step " + m.step() + "  loss " + (float) m.loss());
                        }
                    })
                    .build();   // a service keeps it to call trainer.cancel() (from any thread) at shutdown
            trainer.fit();
            AdapterCheckpoint.save(adapter, dir);          // adapter_config.json + adapter_model.safetensors
            System.out.println("[train]  adapter saved in " + dir);
            return dir;
        }   // closing the adapter detaches it from the training model
    }

    /** The serving side: the model, its generator and the adapter in use, touched only by the serving thread. */
    static final class Server implements AutoCloseable {
        private final GptNeoModel model;
        private final Generator generator;
        private LoraAdapter adapter;                       // null until the first swap

        Server(GptNeoModel model, Gpt2Tokenizer tokenizer) {
            this.model = model;
            this.generator = new Generator(model, tokenizer);
        }

        /** The prompt and its greedy continuation on one line (greedy is deterministic, so a new adapter shows). */
        String answer(String prompt) {
            String text = generator.generate(prompt, GenerationConfig.greedy(16), TokenListener.NONE).text();
            return prompt + " ->" + text.replace("\n", "\\n");
        }

        /** Replaces the adapter in use with the one saved in {@code dir}; no generation runs meanwhile. */
        void swap(Path dir) {
            close();                                        // detaches the previous adapter, if any
            adapter = AdapterCheckpoint.load(model, dir);   // attached unmerged, over the unchanged base
        }

        @Override
        public void close() {
            if (adapter != null) adapter.close();
            adapter = null;
        }
    }
}
