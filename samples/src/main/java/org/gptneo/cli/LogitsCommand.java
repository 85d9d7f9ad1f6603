package org.gptneo.cli;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.gptneo.autograd.Tape;
import org.gptneo.backend.Backend;
import org.gptneo.autograd.Var;
import org.gptneo.io.SafeTensorsWriter;
import org.gptneo.io.AdapterCheckpoint;
import org.gptneo.lora.LoraAdapter;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.Tensor;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gptneo logits}: forward (and with --grads backward) on given token ids, written as
 * safetensors for comparison with another implementation. Writes nothing to stdout.
 */
@Command(name = "logits", mixinStandardHelpOptions = true,
        description = {
            "Write a model's logits, loss and gradients on given token ids as safetensors.",
            "",
            "The file holds:",
            "  logits             F32 [B, T, V]",
            "  loss               F32 [1]   mean next-token cross-entropy over B*(T-1)",
            "                               positions, labels = ids",
            "  grad.<parameter>   F32       with --grads: d loss / d parameter, for every",
            "                               parameter (Hugging Face names)",
            "--model loads the folder's weights. --preset and --config build a randomly",
            "initialised model (Hugging Face's initialisation, seeded by the config's seed:",
            "42 unless the model file sets one). Dropout is off. Rows of one id have no",
            "next-token target: the loss is then NaN, as in PyTorch, and --grads refuses them.",
            "Nothing is printed unless there is an error."})
final class LogitsCommand implements Callable<Integer> {
    @ArgGroup(exclusive = true, multiplicity = "1")
    ModelSource source;

    @Option(names = "--adapter", paramLabel = "DIR", description = "A LoRA adapter folder (PEFT layout) to apply, unmerged.")
    Path adapter;

    @Option(names = "--ids", required = true, paramLabel = "ROWS",
            description = "Token ids: rows separated by ';', ids by ',', e.g. \"1,2,3;4,5,6\". Rows must have equal length.")
    String ids;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "The safetensors file to write (replaced atomically).")
    Path out;

    @Option(names = "--grads", description = "Also run the backward pass and write grad.<parameter name> for every parameter.")
    boolean grads;

    @Override
    public Integer call() {
        int[][] rows = TokenIds.rows("--ids", ids);
        TokenIds.requireEqualLengths("--ids", rows);
        int b = rows.length, t = rows[0].length;
        if (grads && t < 2) {
            throw new IllegalArgumentException("--grads needs rows of at least 2 ids: a row of 1 id has no next-token target"
                    + " (its loss is NaN)");
        }
        try (GptNeoModel model = source.model();
             LoraAdapter lora = adapter == null ? null : AdapterCheckpoint.load(model, adapter);
             Tape tape = new Tape(model.backend(), grads);
             Arena host = Arena.ofConfined()) {
            Backend backend = model.backend();
            int[] flat = new int[b * t];
            for (int r = 0; r < b; r++) System.arraycopy(rows[r], 0, flat, r * t, t);
            Tensor input = backend.upload(Tensor.ofInts(host, flat, b, t), host);     // [B, T]
            Var logits = model.forward(tape, input, false);
            Var loss = model.loss(tape, logits, input);
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            tensors.put("logits", backend.download(logits.value(), host));
            tensors.put("loss", backend.download(loss.value(), host));
            if (grads) {
                model.zeroGrad();
                tape.backward(loss);
                model.parameters().forEach((name, p) -> {
                    Tensor g = p.grad();
                    tensors.put("grad." + name, backend.download(g != null ? g : tape.allocate(p.shape()), host));
                });
            }
            SafeTensorsWriter.write(out, tensors, Map.of("format", "pt"));
        }
        return 0;
    }
}
