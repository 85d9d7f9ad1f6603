package org.gptneo.samples;

import java.nio.file.Path;
import org.gptneo.GptNeo;
import org.gptneo.generate.Generation;
import org.gptneo.generate.GenerationConfig;
import org.gptneo.generate.Generator;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tokenizer.Gpt2Tokenizer;

/** Loads a Hugging Face GPT-Neo folder (args[0]) and continues a prompt greedily, streaming the text. */
public class GenerateText {
    public static void main(String[] args) {
        Path dir = Path.of(args.length > 0 ? args[0] : "path/to/gpt-neo-125m");
        // inference: safetensors weights are used zero-copy from the memory-mapped file; GptNeo.load(dir, LoadOptions
        // .defaults().withDtype(DType.BF16)) halves their memory, DType.Q8 quarters it; LoadOptions.training() trains
        try (GptNeoModel model = GptNeo.load(dir)) {
            Gpt2Tokenizer tokenizer = GptNeo.tokenizer(dir);          // the folder's tokenizer files, else GPT-2's built in
            Generation result = new Generator(model, tokenizer).generate("In a shocking finding, scientists discovered",
                    GenerationConfig.greedy(40),              // or GenerationConfig.sampling(40, 0.8f, 50, 0.95f, 42)
                    (id, text) -> System.out.print(text));    // streams each token's text as it is produced
            System.out.println();
            System.out.println(result.ids().length + " new tokens, finished by " + result.finish());
        }
    }
}
