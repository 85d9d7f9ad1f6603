package org.gptneo.samples;

import java.nio.file.Path;
import org.gptneo.GptNeo;
import org.gptneo.data.DatasetOptions;
import org.gptneo.data.Datasets;
import org.gptneo.data.TokenSource;
import org.gptneo.io.AdapterCheckpoint;
import org.gptneo.io.LoadOptions;
import org.gptneo.lora.LoRA;
import org.gptneo.lora.LoraAdapter;
import org.gptneo.model.GptNeoModel;
import org.gptneo.train.Schedule;
import org.gptneo.train.Trainer;
import org.gptneo.train.TrainingResult;

/** Fine-tunes a LoRA adapter of a Hugging Face GPT-Neo folder (args[0]) on a text file (args[1]) and saves it into args[2]. */
public class FineTuneText {
    public static void main(String[] args) {
        Path base = Path.of(args[0]), text = Path.of(args[1]), out = Path.of(args[2]);
        try (GptNeoModel model = GptNeo.load(base, LoadOptions.defaults());    // base weights memory-mapped, frozen
             TokenSource tokens = Datasets.open(text,                         // tokenized once into an Arrow cache beside it
                     DatasetOptions.defaults().withTokenizer(GptNeo.tokenizer(base)));
             LoraAdapter adapter = LoRA.rank(8).alpha(16).dropout(0.05f).targets("q_proj", "v_proj").apply(model)) {
            TrainingResult result = Trainer.builder().model(model).adapter(adapter).data(tokens)
                    .steps(200).batchSize(4).seqLen(256).learningRate(2e-4).warmup(20).schedule(Schedule.COSINE)
                    .weightDecay(0.01).gradClip(1.0).accumulate(2).validationSplit(0.05).evalEvery(50)
                    .checkpointEvery(50).keepCheckpoints(2).outputDir(out)    // out/checkpoint-STEP/, out/metrics.jsonl
                    .resume(true)                                              // continues after a crash, same curve
                    .build().fit();
            AdapterCheckpoint.save(adapter, out);                             // adapter_config.json + adapter_model.safetensors
            System.out.println(result.status() + " after " + result.steps() + " steps, eval "
                    + result.lastEvaluation().map(e -> "perplexity " + e.perplexity()).orElse("none"));
        }
    }
}
