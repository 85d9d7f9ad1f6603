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
import org.gptneo.model.ModelOutput;
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
            "  loss               F32 [1]   causal LM: mean next-token cross-entropy, labels",
            "                               = --labels or the ids, shifted (-100 ignored);",
            "                               masked LM: mean cross-entropy at the positions",
            "                               --labels names (not -100), no shift; written only",
            "                               with --labels",
            "  aux_loss           F32 [1]   models with mixture-of-experts layers: their",
            "                               load-balancing loss (times moe_aux_loss_coef)",
            "  grad.<parameter>   F32       with --grads: d (loss + aux_loss) / d parameter,",
            "                               for every parameter (Hugging Face names)",
            "--model loads the folder's weights. --preset and --config build a randomly",
            "initialised model (Hugging Face's initialisation, seeded by the config's seed:",
            "42 unless the model file sets one). Dropout is off and mixtures of experts use",
            "their eval capacity factor and policy. Rows of one id have no next-token target",
            "in a causal LM: the loss is then NaN, as in PyTorch, and --grads refuses them.",
            "Nothing is printed unless there is an error."})
final class LogitsCommand implements Callable<Integer> {
    @ArgGroup(exclusive = true, multiplicity = "1")
    ModelSource source;

    @Option(names = "--adapter", paramLabel = "DIR", description = "A LoRA adapter folder (PEFT layout) to apply, unmerged.")
    Path adapter;

    @Option(names = "--ids", required = true, paramLabel = "ROWS",
            description = "Token ids: rows separated by ';', ids by ',', e.g. \"1,2,3;4,5,6\". Rows must have equal length.")
    String ids;

    @Option(names = "--labels", paramLabel = "ROWS",
            description = "Labels in the --ids syntax and shape; -100 is ignored (e.g. \"-100,5,-100\"). Default for causal LM: the ids.")
    String labels;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "The safetensors file to write (replaced atomically).")
    Path out;

    @Option(names = "--grads", description = "Also run the backward pass and write grad.<parameter name> for every parameter.")
    boolean grads;

    @Override
    public Integer call() {
        int[][] rows = TokenIds.rows("--ids", ids);
        TokenIds.requireEqualLengths("--ids", rows);
        int[][] labelRows = labels == null ? null : TokenIds.rows("--labels", labels);
        if (labelRows != null) {
            TokenIds.requireEqualLengths("--labels", labelRows);
            if (labelRows.length != rows.length || labelRows[0].length != rows[0].length) {
                throw new IllegalArgumentException("--labels has " + labelRows.length + " rows of " + labelRows[0].length
                        + " but --ids has " + rows.length + " rows of " + rows[0].length + " (they must have the same shape)");
            }
        }
        int b = rows.length, t = rows[0].length;
        try (GptNeoModel model = source.model();
             LoraAdapter lora = adapter == null ? null : AdapterCheckpoint.load(model, adapter);
             Tape tape = new Tape(model.backend(), grads);
             Arena host = Arena.ofConfined()) {
            Backend backend = model.backend();
            boolean causal = model.config().causal();
            if (grads && causal && t < 2) {
                throw new IllegalArgumentException("--grads needs rows of at least 2 ids: a row of 1 id has no next-token target"
                        + " (its loss is NaN)");
            }
            Tensor input = backend.upload(Tensor.ofInts(host, flat(rows), b, t), host);             // [B, T]
            Tensor target = labelRows != null ? backend.upload(Tensor.ofInts(host, flat(labelRows), b, t), host)
                    : causal ? input : null;                                                      // [B, T]
            ModelOutput output = model.run(tape, input, false);
            Var loss = target == null ? null : model.loss(tape, output.logits(), target);
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            tensors.put("logits", backend.download(output.logits().value(), host));
            if (loss != null) tensors.put("loss", backend.download(loss.value(), host));
            if (output.auxLoss() != null) tensors.put("aux_loss", backend.download(output.auxLoss().value(), host));
            if (grads) {
                Var total = loss == null ? output.auxLoss() : output.auxLoss() == null ? loss : tape.add(loss, output.auxLoss());
                if (total == null) {
                    throw new IllegalArgumentException("--grads on a masked-LM model needs --labels: without them there is no loss");
                }
                model.zeroGrad();
                tape.backward(total);
                model.parameters().forEach((name, p) -> {
                    Tensor g = p.grad();
                    tensors.put("grad." + name, backend.download(g != null ? g : tape.allocate(p.shape()), host));
                });
            }
            SafeTensorsWriter.write(out, tensors, Map.of("format", "pt"));
        }
        return 0;
    }

    /** [B][T] → row-major [B·T]. */
    private static int[] flat(int[][] rows) {
        int t = rows[0].length;
        int[] out = new int[rows.length * t];
        for (int r = 0; r < rows.length; r++) System.arraycopy(rows[r], 0, out, r * t, t);
        return out;
    }
}
