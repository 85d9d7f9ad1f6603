package org.gptneo.samples;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import org.gptneo.GptNeo;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoModel;
import org.gptneo.nn.AdamW;
import org.gptneo.tensor.Tensor;

/** Trains a tiny GPT-Neo for 10 steps on one sentence and saves it as a Hugging Face folder (args[0], else a temp dir). */
public class TrainTinyModel {
    public static void main(String[] args) throws IOException {
        Path dir = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("tiny-gpt-neo");
        try (GptNeoModel model = GptNeo.builder()                   // Hugging Face defaults for anything unset
                .vocabSize(50257).contextLength(128)                // GPT-2's vocabulary
                .hiddenSize(64).layers(2).heads(4)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(32)   // alternating, layer 0 global
                .dropout(0.1f).seed(42)
                .build();                                           // invalid combinations fail here, naming the field
             AdamW optimizer = new AdamW(model.backend(), model.parameters(), AdamW.Settings.defaults());
             Arena arena = Arena.ofShared()) {
            // "The dog is a good dog" as GPT-2 token ids, [B, T] = [1, 6], moved to the backend's device
            Tensor ids = model.backend().upload(Tensor.ofInts(arena, new int[] {464, 3290, 318, 257, 922, 3290}, 1, 6), arena);
            for (int step = 1; step <= 10; step++) {
                try (Tape tape = new Tape(model.backend(), true)) {   // one tape per step owns its activations
                    model.zeroGrad();
                    Var logits = model.forward(tape, ids, true);      // [B, T, V], dropout on (seeded)
                    Var loss = model.loss(tape, logits, ids);         // mean next-token cross-entropy, ignores -100
                    tape.backward(loss);                              // gradients land in model.parameters()
                    optimizer.step();                                 // torch.optim.AdamW semantics
                    Tensor value = model.backend().download(loss.value(), arena);   // [1], read on the host
                    System.out.println("step " + step + "  loss " + value.getFloat(0));
                }
            }
            HfCheckpoint.save(model, dir);                            // a folder GPTNeoForCausalLM.from_pretrained reads
            System.out.println("saved " + dir);
        }
    }
}
