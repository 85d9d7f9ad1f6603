package org.gptneo.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Workspace;
import org.gptneo.backend.Backend;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.nn.AdamW;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code gptneo bench train}: one training step on B×T random ids: forward, mean next-token loss,
 * backward, AdamW (lr 1e-4, HF's weight-decay groups as the Trainer uses them). Dropout is off, so
 * every step does the same work.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Time a training step (forward, backward, AdamW) on --batch-size × --seq-len random ids.",
            "Prints one JSON line."})
final class BenchTrainCommand implements Callable<Integer> {
    @Mixin
    BenchRuns runs;

    @Mixin
    BenchModel model;

    @Option(names = "--batch-size", paramLabel = "B", defaultValue = "4", description = "Rows per step (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--seq-len", paramLabel = "T", defaultValue = "256",
            description = "Tokens per row, at most the context length (default ${DEFAULT-VALUE}).")
    int seqLen;

    @Override
    public Integer call() {
        runs.validate();
        GptNeoConfig config = model.config();
        runs.require(model.dtype(runs) == DType.F32, "--dtype must be f32 for training, got '" + model.dtype + "'");
        runs.require(seqLen >= 1 && seqLen <= config.contextLength(),
                "--seq-len must be in [1, " + config.contextLength() + "] (the model's context length), got " + seqLen);
        runs.require(batch >= 1 && batch <= Integer.MAX_VALUE / seqLen,
                "--batch-size must be in [1, " + Integer.MAX_VALUE / seqLen + "] for --seq-len " + seqLen + ", got " + batch);
        try (Backend backend = runs.backend(); GptNeoModel m = model.load(backend, DType.F32);
             AdamW adam = new AdamW(backend, m.parameters(), AdamW.Settings.defaults().withLr(1e-4f), AdamW.decayExceptBiasAndNorm());
             Arena host = Arena.ofShared(); Workspace passes = new Workspace()) {
            int[] ids = new SplittableRandom(1).ints((long) batch * seqLen, 0, config.vocabSize()).toArray();
            Tensor input = backend.upload(Tensor.ofInts(host, ids, batch, seqLen), host);   // [B, T]
            BenchRuns.Best best = runs.best(() -> {
                try (Tape tape = BenchRuns.tape(backend, true, passes)) {     // as the Trainer does
                    m.zeroGrad();
                    tape.backward(m.loss(tape, m.forward(tape, input, false), input));
                    adam.step();
                }
            });
            double ms = best.ms();
            ObjectNode json = runs.line("train");
            json.put("batch", batch);
            json.put("seq_len", seqLen);
            json.put("ms", BenchRuns.round(ms, 1));
            json.put("tokens_per_s", BenchRuns.round(batch * seqLen / (ms / 1000), 1));
            BenchRuns.putHeapPerToken(json, best.heapBytesPerRun(), (long) batch * seqLen);
            runs.print(json);
        }
        return 0;
    }
}
